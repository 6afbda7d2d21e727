//! Control frames addressed to this router: answering PING/KEYPING/RPATH/GETSNODE/LLADDR.
