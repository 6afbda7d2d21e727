//! The few Linux calls the standard library has no safe form for: the TUN ioctl, AF_PACKET
//! sockets and signal handlers. Everything unsafe in the daemon is here.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The cjdns ethertype.
pub const ETHERTYPE_FC00: u16 = 0xfc00;
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Open a TUN device (no packet-info header), non-blocking. An empty `name` lets the kernel
/// choose. Returns the fd and the device's name.
pub fn tun_open(name: &str) -> io::Result<(OwnedFd, String)> {
    if name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "device name too long",
        ));
    }
    let path = CString::new("/dev/net/tun").map_err(io::Error::other)?;
    // SAFETY: path is a valid C string; the returned fd is owned below.
    let fd = cvt(unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fd was just opened and is ours alone.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = IfReqFlags {
        name: [0; libc::IFNAMSIZ],
        flags: IFF_TUN | IFF_NO_PI,
        _pad: [0; 22],
    };
    for (d, s) in req.name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: TUNSETIFF reads and writes a struct ifreq, which IfReqFlags lays out (40 bytes).
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReqFlags) })?;
    let actual: Vec<u8> = req
        .name
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    Ok((fd, String::from_utf8_lossy(&actual).into_owned()))
}

pub fn fd_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes of writing.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

pub fn fd_write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes of reading.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

pub fn if_index(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: c is a valid C string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

fn sockaddr_ll(ifindex: u32, mac: &[u8; 6]) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = ETHERTYPE_FC00.to_be();
    sa.sll_ifindex = ifindex as i32;
    sa.sll_halen = 6;
    sa.sll_addr[..6].copy_from_slice(mac);
    sa
}

/// An AF_PACKET datagram socket for ethertype 0xfc00 on one device (the kernel adds and strips
/// the MAC header), non-blocking.
pub fn packet_socket(ifindex: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the fd is owned below.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(ETHERTYPE_FC00.to_be()),
        )
    })?;
    // SAFETY: fd was just opened and is ours alone.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let sa = sockaddr_ll(ifindex, &[0; 6]);
    // SAFETY: sa is a valid sockaddr_ll of the length given.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    })?;
    Ok(fd)
}

/// One frame: (length, source MAC, whether it was sent to the broadcast address).
pub fn packet_recv(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, [u8; 6], bool)> {
    // SAFETY: plain data, zero is valid.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: buf and sa are valid for the lengths given.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            0,
            (&mut sa as *mut libc::sockaddr_ll).cast(),
            &mut len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&sa.sll_addr[..6]);
    Ok((n as usize, mac, sa.sll_pkttype == libc::PACKET_BROADCAST))
}

pub fn packet_send(fd: RawFd, ifindex: u32, to: &[u8; 6], frame: &[u8]) -> io::Result<()> {
    let sa = sockaddr_ll(ifindex, to);
    // SAFETY: frame and sa are valid for the lengths given.
    let n = unsafe {
        libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sa as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

static STOP: AtomicBool = AtomicBool::new(false);
static STOP_SIGNAL: AtomicU32 = AtomicU32::new(0);
static HUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    if sig == libc::SIGHUP {
        HUP.store(true, Ordering::SeqCst);
    } else {
        STOP_SIGNAL.store(sig as u32, Ordering::SeqCst);
        STOP.store(true, Ordering::SeqCst);
    }
}

/// SIGINT/SIGTERM set the stop flag, SIGHUP the reload flag (both interrupt epoll_wait).
pub fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to atomics, which is async-signal-safe.
        unsafe {
            libc::signal(
                sig,
                on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}

/// The signal that asked us to stop, if any.
pub fn stop_requested() -> Option<u32> {
    STOP.load(Ordering::SeqCst)
        .then(|| STOP_SIGNAL.load(Ordering::SeqCst))
}

pub fn take_hup() -> bool {
    HUP.swap(false, Ordering::SeqCst)
}

pub fn is_root() -> bool {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn pid() -> u32 {
    std::process::id()
}

/// The IPv4 address in a sockaddr from getifaddrs, as a host-order u32.
fn ipv4_of(sa: *const libc::sockaddr) -> Option<u32> {
    // SAFETY: a non-null sockaddr from getifaddrs; the family is checked before the cast.
    if sa.is_null() || unsafe { (*sa).sa_family } != libc::AF_INET as u16 {
        return None;
    }
    // SAFETY: AF_INET entries carry a sockaddr_in.
    let sin = unsafe { &*(sa as *const libc::sockaddr_in) };
    Some(u32::from_be(sin.sin_addr.s_addr))
}

/// IPv4 broadcast addresses by device name (for UDP beacons), from getifaddrs(3).
pub fn ipv4_broadcasts() -> Vec<(String, std::net::Ipv4Addr)> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: cur points into the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        let flags = ifa.ifa_flags;
        if flags & libc::IFF_BROADCAST as u32 == 0 || flags & libc::IFF_UP as u32 == 0 {
            continue;
        }
        // The address and netmask give the broadcast address even when none was set
        // (`ip addr add` without `brd +` leaves it 0.0.0.0).
        let (Some(addr), Some(mask)) = (ipv4_of(ifa.ifa_addr), ipv4_of(ifa.ifa_netmask)) else {
            continue;
        };
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        out.push((name, std::net::Ipv4Addr::from(addr | !mask)));
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

#[repr(C)]
struct IfReqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: [u8; 24],
}

#[repr(C)]
struct In6IfReq {
    addr: [u8; 16],
    prefix_len: u32,
    ifindex: libc::c_int,
}

/// Give device `name` an IPv6 address, an MTU and bring it up, with ioctls (no `ip`
/// binary needed, as on a minimal OpenWrt). An address already present is fine.
pub fn configure_interface(
    name: &str,
    addr: [u8; 16],
    prefix_len: u32,
    mtu: u32,
) -> io::Result<()> {
    let ifindex = if_index(name)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no device {name}")))?;
    // SAFETY: plain socket(2); owned below.
    let fd =
        cvt(unsafe { libc::socket(libc::AF_INET6, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd was just opened and is ours alone.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = IfReqData {
        name: [0; libc::IFNAMSIZ],
        data: [0; 24],
    };
    for (d, s) in req
        .name
        .iter_mut()
        .zip(name.bytes().take(libc::IFNAMSIZ - 1))
    {
        *d = s as libc::c_char;
    }
    req.data[..4].copy_from_slice(&(mtu as libc::c_int).to_ne_bytes());
    // SAFETY: SIOCSIFMTU reads a struct ifreq with ifr_mtu, which IfReqData lays out.
    cvt(unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFMTU as _,
            &mut req as *mut IfReqData,
        )
    })?;
    req.data = [0; 24];
    // SAFETY: SIOCGIFFLAGS writes ifr_flags into the struct ifreq.
    cvt(unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFFLAGS as _,
            &mut req as *mut IfReqData,
        )
    })?;
    let flags =
        i16::from_ne_bytes([req.data[0], req.data[1]]) | (libc::IFF_UP | libc::IFF_RUNNING) as i16;
    req.data[..2].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: SIOCSIFFLAGS reads ifr_flags from the struct ifreq.
    cvt(unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFFLAGS as _,
            &mut req as *mut IfReqData,
        )
    })?;
    let mut req6 = In6IfReq {
        addr,
        prefix_len,
        ifindex: ifindex as libc::c_int,
    };
    // SAFETY: SIOCSIFADDR on an AF_INET6 socket reads a struct in6_ifreq (In6IfReq).
    let r = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFADDR as _,
            &mut req6 as *mut In6IfReq,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e);
        }
    }
    Ok(())
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Become `user` (and its primary group, no supplementary groups), keeping CAP_NET_RAW
/// (Ethernet devices that appear later) and CAP_NET_ADMIN. Returns the uid.
pub fn drop_privileges(user: &str) -> io::Result<u32> {
    let cname = CString::new(user).map_err(io::Error::other)?;
    // SAFETY: getpwnam returns a pointer to static storage or null; read at once.
    let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
    if pw.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no user {user:?}"),
        ));
    }
    // SAFETY: pw is non-null and points to a valid passwd.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    // SAFETY: the following are plain syscalls with no pointers but the cap structs below.
    unsafe {
        cvt(libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0))?;
        cvt(libc::setgroups(0, std::ptr::null()))?;
        cvt(libc::setgid(gid))?;
        cvt(libc::setuid(uid))?;
    }
    let keep = (1u32 << CAP_NET_ADMIN) | (1u32 << CAP_NET_RAW);
    let mut header = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [
        CapData {
            effective: keep,
            permitted: keep,
            inheritable: 0,
        },
        CapData {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        },
    ];
    // SAFETY: capset with a v3 header and two data structs, as capset(2) describes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(uid)
}
