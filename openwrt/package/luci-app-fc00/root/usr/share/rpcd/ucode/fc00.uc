// rpcd plugin `luci.fc00`: fc00d's admin API (bencode over UDP, as cjdroute's) for LuCI.
// The admin socket is the one in /etc/config/fc00 (main.admin_bind); the page needs
// admin_password 'NONE' (the default, with the socket bound to localhost).
'use strict';

import * as socket from 'socket';
import { cursor } from 'uci';

const MAX_PAGES = 16;

function benc(v) {
	switch (type(v)) {
	case 'int':
		return sprintf('i%de', v);
	case 'string':
		return sprintf('%d:%s', length(v), v);
	case 'array':
		return 'l' + join('', map(v, benc)) + 'e';
	case 'object':
		return 'd' + join('', map(sort(keys(v)), (k) => benc(k) + benc(v[k]))) + 'e';
	}
	return '0:';
}

// Decode one value at st.pos; null (and st.bad) on anything malformed.
function bdec(s, st, depth) {
	if (depth > 32 || st.pos >= length(s)) {
		st.bad = true;
		return null;
	}
	let c = substr(s, st.pos, 1);
	if (c == 'i') {
		let end = index(substr(s, st.pos), 'e');
		if (end < 2) {
			st.bad = true;
			return null;
		}
		let n = int(substr(s, st.pos + 1, end - 1));
		st.pos += end + 1;
		return n;
	}
	if (c == 'l' || c == 'd') {
		let out = (c == 'l') ? [] : {};
		st.pos++;
		while (!st.bad && st.pos < length(s) && substr(s, st.pos, 1) != 'e') {
			if (c == 'l') {
				push(out, bdec(s, st, depth + 1));
			}
			else {
				let k = bdec(s, st, depth + 1);
				if (type(k) != 'string') {
					st.bad = true;
					return null;
				}
				out[k] = bdec(s, st, depth + 1);
			}
		}
		if (st.pos >= length(s)) {
			st.bad = true;
			return null;
		}
		st.pos++;
		return out;
	}
	let colon = index(substr(s, st.pos), ':');
	if (colon < 1) {
		st.bad = true;
		return null;
	}
	let n = int(substr(s, st.pos, colon));
	if (type(n) != 'int' || n < 0 || st.pos + colon + 1 + n > length(s)) {
		st.bad = true;
		return null;
	}
	let str = substr(s, st.pos + colon + 1, n);
	st.pos += colon + 1 + n;
	return str;
}

function admin_bind() {
	let bind = cursor().get('fc00', 'main', 'admin_bind') || '127.0.0.1:11234';
	let m = match(bind, /^\[?([^\]]+)\]?:([0-9]+)$/);
	return m ? [m[1], m[2]] : ['127.0.0.1', '11234'];
}

function call(q, args) {
	let bind = admin_bind();
	let sock = socket.connect(bind[0], bind[1], { socktype: socket.SOCK_DGRAM });
	if (!sock)
		return { error: 'cannot reach fc00d admin at ' + join(':', bind) };
	let req = { q: q, txid: sprintf('luci%d', time()) };
	if (args)
		req.args = args;
	sock.send(benc(req));
	let ready = socket.poll(2000, [sock, socket.POLLIN]);
	let reply = (ready && length(ready)) ? sock.recv(65536) : null;
	sock.close();
	if (!reply)
		return { error: 'fc00d did not answer (is it running?)' };
	let st = { pos: 0, bad: false };
	let d = bdec(reply, st, 0);
	if (st.bad || type(d) != 'object')
		return { error: 'malformed reply from fc00d' };
	if (d.error && d.error != 'none')
		return { error: d.error };
	return d;
}

// `v22.0000.0000.0000.0001.<key>.k` → `<key>.k`
function key_of(addr) {
	let m = match(addr || '', /([a-z0-9]{52}\.k)$/);
	return m ? m[1] : null;
}

function pages(q, field) {
	let rows = [];
	for (let page = 0; page < MAX_PAGES; page++) {
		let r = call(q, { page: page });
		if (r.error)
			return r;
		for (let row in (r[field] || []))
			push(rows, row);
		if (!r.more)
			break;
	}
	return { rows: rows };
}

const methods = {
	status: {
		call: function() {
			let r = call('Core_nodeInfo');
			if (r.error)
				return r;
			return { ipv6: r.myIp6, publicKey: key_of(r.myAddr), addr: r.myAddr };
		}
	},

	peers: {
		call: function() {
			let p = pages('InterfaceController_peerStats', 'peers');
			if (p.error)
				return p;
			// peerStats has no IPv6 address; the node store has it for every peer.
			let ips = {};
			let t = pages('NodeStore_dumpTable', 'routingTable');
			for (let n in (t.rows || []))
				ips[key_of(n.addr)] = n.ip;
			return {
				peers: map(p.rows, (row) => ({
					key: key_of(row.addr),
					ipv6: ips[key_of(row.addr)],
					lladdr: row.lladdr,
					state: row.state,
					recvKbps: row.recvKbps,
					sendKbps: row.sendKbps,
					bytesIn: row.bytesIn,
					bytesOut: row.bytesOut,
					last: row.last,
					user: row.user,
					incoming: row.isIncoming
				}))
			};
		}
	},

	disconnect: {
		args: { pubkey: 'pubkey' },
		call: function(req) {
			let key = req.args?.pubkey;
			if (type(key) != 'string' || !match(key, /^[a-z0-9]{52}\.k$/))
				return { error: 'pubkey: expected a .k key' };
			return call('InterfaceController_disconnectPeer', { pubkey: key });
		}
	}
};

return { 'luci.fc00': methods };
