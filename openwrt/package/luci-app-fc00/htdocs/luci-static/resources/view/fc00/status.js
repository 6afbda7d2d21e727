'use strict';
'require view';
'require form';
'require rpc';
'require poll';
'require ui';

// Live data from fc00d's admin API through the luci.fc00 rpcd plugin; settings through UCI
// (/etc/config/fc00), applied by the init script's reload trigger (SIGHUP: new peers and
// passwords are picked up without a restart).

const callStatus = rpc.declare({ object: 'luci.fc00', method: 'status' });
const callPeers = rpc.declare({ object: 'luci.fc00', method: 'peers' });
const callDisconnect = rpc.declare({
	object: 'luci.fc00',
	method: 'disconnect',
	params: [ 'pubkey' ]
});

function lastSeen(ms) {
	if (!ms)
		return '-';
	const s = Math.max(0, Math.round(Date.now() / 1000 - ms / 1000));
	return s < 120 ? _('%ds ago').format(s) : _('%dm ago').format(Math.round(s / 60));
}

function validAddress(section_id, value) {
	if (/^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/.test(value) || /^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(value))
		return true;
	return _('Expected ip:port, or [ipv6]:port');
}

function validKey(section_id, value) {
	return /^[a-z0-9]{52}\.k$/.test(value) ? true : _('Expected a public key ending in .k');
}

return view.extend({
	load() {
		return Promise.all([ callStatus(), callPeers() ]);
	},

	renderStatus(status) {
		if (!status || status.error)
			return E('p', { 'class': 'alert-message warning' },
				_('fc00d is not answering: %s').format(status ? status.error : '?'));
		return E('table', { 'class': 'table' }, [
			E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td left', 'width': '25%' }, _('IPv6 address')),
				E('td', { 'class': 'td left' }, E('code', {}, status.ipv6 || '?'))
			]),
			E('tr', { 'class': 'tr' }, [
				E('td', { 'class': 'td left' }, _('Public key')),
				E('td', { 'class': 'td left' }, E('code', {}, status.publicKey || '?'))
			])
		]);
	},

	updatePeers(table, reply) {
		const peers = (reply && Array.isArray(reply.peers)) ? reply.peers : [];
		const rows = peers.map((p) => [
			E('span', {}, [
				E('code', {}, p.ipv6 || '-'), E('br'),
				E('small', {}, (p.user ? p.user + ' · ' : '') + (p.key || '?'))
			]),
			p.lladdr || '-',
			p.state || '?',
			'%d'.format(p.recvKbps || 0),
			'%d'.format(p.sendKbps || 0),
			lastSeen(p.last),
			E('button', {
				'class': 'btn cbi-button cbi-button-remove',
				'disabled': p.key ? null : true,
				'click': ui.createHandlerFn(this, () => callDisconnect(p.key).then(() =>
					callPeers().then((r) => this.updatePeers(table, r))))
			}, _('Disconnect'))
		]);
		const empty = (reply && reply.error)
			? E('em', {}, _('fc00d is not answering: %s').format(reply.error))
			: E('em', {}, _('No peers yet'));
		cbi_update_table(table, rows, empty);
	},

	render([ status, peers ]) {
		const table = E('table', { 'class': 'table' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Address')),
				E('th', { 'class': 'th' }, _('Link')),
				E('th', { 'class': 'th' }, _('State')),
				E('th', { 'class': 'th' }, _('In kbps')),
				E('th', { 'class': 'th' }, _('Out kbps')),
				E('th', { 'class': 'th' }, _('Last seen')),
				E('th', { 'class': 'th' }, '')
			])
		]);
		this.updatePeers(table, peers);
		poll.add(() => callPeers().then((r) => this.updatePeers(table, r)), 5);

		const m = new form.Map('fc00', _('fc00 mesh'),
			_('A cjdns-compatible mesh node. Peers and passwords added here are picked up on Save & Apply; removed peers stay connected until disconnected below or the service restarts.'));

		let s = m.section(form.GridSection, 'udp_peer', _('UDP peers'),
			_('Nodes this router connects to over UDP/IP, with the password they gave you.'));
		s.anonymous = true;
		s.addremove = true;
		let o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = o.enabled;
		o.editable = true;
		o = s.option(form.Value, 'address', _('Address'), _('ip:port or [ipv6]:port'));
		o.rmempty = false;
		o.validate = validAddress;
		o = s.option(form.Value, 'public_key', _('Public key'));
		o.rmempty = false;
		o.validate = validKey;
		o = s.option(form.Value, 'password', _('Password'));
		o.password = true;
		o.rmempty = false;
		o.modalonly = true;
		o = s.option(form.Value, 'login', _('Login'));
		o.modalonly = true;
		s.option(form.Value, 'name', _('Name'));

		s = m.section(form.GridSection, 'password', _('Authorized passwords'),
			_('Passwords other nodes may use to peer with this one; one per peer.'));
		s.anonymous = true;
		s.addremove = true;
		o = s.option(form.Value, 'user', _('User'));
		o.rmempty = false;
		o = s.option(form.Value, 'password', _('Password'));
		o.password = true;
		o.rmempty = false;

		s = m.section(form.NamedSection, 'main', 'fc00', _('Settings'));
		s.option(form.Flag, 'enabled', _('Enabled')).default = '1';
		s.option(form.Flag, 'tun', _('TUN interface (fc00::/8 traffic)')).default = '1';
		o = s.option(form.Value, 'admin_bind', _('Admin API'));
		o.placeholder = '127.0.0.1:11234';

		s = m.section(form.NamedSection, 'gateway', 'gateway', _('Gateway mode'),
			_('LAN hosts without fc00 reach fc00::/8 through this router (IPv6 masquerade in the fc00 firewall zone).'));
		s.option(form.Flag, 'enabled', _('Enabled')).default = '1';
		s.option(form.Flag, 'allow_ping', _('Answer pings from the mesh'));

		return m.render().then((mapEl) => E([], [
			E('h2', {}, _('fc00 mesh node')),
			this.renderStatus(status),
			E('h3', {}, _('Peers')),
			table,
			mapEl
		]));
	}
});
