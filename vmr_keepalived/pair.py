"""Set up a VRRP guest pair in a cloud: Neutron side executed, configs rendered.

:func:`setup_vrrp_pair` finds the pair's two servers by metadata (the keys
``fip_failover`` uses: ``vmr_pair=<pair>``, ``vmr_role=active|standby``),
reads what Neutron already has, asks :func:`~.neutron_plan.plan_vrrp_pair`
for the operations still missing and executes them with openstacksdk's
network proxy, in order. A second run finds everything in place and changes
nothing. The result also carries each member's rendered keepalived files
(:func:`~.templater.render_guest_pair`) for delivery as cloud-init user data
or by ``vmr keepalived setup-pair``.

This needs cloud admin credentials (it lists servers of every project and
edits their ports), not the VMR API.
"""

import dataclasses
import ipaddress
from collections.abc import Mapping
from typing import Any

from openstack import exceptions as os_exc

from vmr_keepalived import neutron_plan, templater
from vmr_keepalived.neutron_plan import PlanError

PAIR_KEY = 'vmr_pair'
ROLE_KEY = 'vmr_role'
ACTIVE = 'active'
STANDBY = 'standby'
#: protocols of a security group rule that let VRRP (IP protocol 112) in
_VRRP_PROTOCOLS = (None, '', 'any', 'vrrp', '112')


class PairSetupError(ValueError):
    """The pair cannot be set up; ``str()`` is one line naming the thing and the fix."""


def vip_port_name(pair_name: str) -> str:
    """The name :func:`plan_vrrp_pair` gives the pair's VIP port (found by it later)."""
    return f'vmr-vip-{pair_name}'


@dataclasses.dataclass(frozen=True)
class PairSetup:
    """What :func:`setup_vrrp_pair` found and did.

    ``operations`` lists the reason of every Neutron call made (empty when
    everything was already in place); ``notes`` says what was checked and
    left alone; ``configs`` is ``{member: {file name: content}}``.
    """

    pair: str
    members: tuple[str, ...]
    vip_address: str
    vip_port_id: str
    floating_ip: str | None
    operations: tuple[str, ...]
    notes: tuple[str, ...]
    configs: Mapping[str, Mapping[str, str]] = dataclasses.field(repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.operations)

    def summary(self) -> str:
        """One sentence for logs and the CLI."""
        fip = f', floating IP {self.floating_ip}' if self.floating_ip else ''
        head = (f'pair {self.pair}: VIP {self.vip_address} on port {self.vip_port_id}{fip} '
                f'for {" and ".join(self.members)}')
        if not self.operations:
            return head + ': nothing to do, already set up'
        return head + f': {len(self.operations)} change(s): ' + '; '.join(self.operations)


def _pair_servers(conn, pair_name, pair_key, role_key, project_id):
    query = {'details': True, 'all_projects': True}
    if project_id:
        query['project_id'] = project_id
    servers = [s for s in conn.compute.servers(**query)
               if (s.metadata or {}).get(pair_key) == pair_name]
    if len(servers) != 2:
        found = ', '.join(sorted(s.name for s in servers)) or 'none'
        raise PairSetupError(
            f'pair {pair_name}: a VRRP pair needs exactly 2 servers with metadata '
            f'{pair_key}={pair_name}, found {len(servers)} ({found})')
    roles = {(s.metadata or {}).get(role_key): s for s in servers}
    if set(roles) != {ACTIVE, STANDBY}:
        raise PairSetupError(
            f'pair {pair_name}: set {role_key}={ACTIVE} on one server and '
            f'{role_key}={STANDBY} on the other (found '
            + ', '.join(f'{s.name}: {(s.metadata or {}).get(role_key)!r}' for s in servers)
            + ')')
    # The active member first: it gets the higher VRRP priority.
    return [roles[ACTIVE], roles[STANDBY]]


def _find_one(finder, kind, value):
    try:
        found = finder(value, ignore_missing=True)
    except os_exc.DuplicateResource:
        # An admin sees every project's groups: each has a "default".
        raise PairSetupError(f'more than one {kind} is named {value!r}: give its id')
    if found is None:
        raise PairSetupError(f'no {kind} named or with id {value!r}')
    return found


def _member_ports(conn, servers, network):
    """Each server's port on ``network`` (the active's first port's network by default)."""
    ports = []
    for server in servers:
        own = sorted(conn.network.ports(device_id=server.id),
                     key=lambda p: (p.created_at or '', p.id))
        if not own:
            raise PairSetupError(f'server {server.name} ({server.id}) has no port')
        if network is None:
            network = conn.network.get_network(own[0].network_id)
        on_net = [p for p in own if p.network_id == network.id]
        if not on_net:
            raise PairSetupError(
                f'server {server.name} has no port on network {network.name} '
                f'({network.id}); give --vip-network')
        ports.append(on_net[0])
    return network, ports


def _subnet(conn, network, ports, subnet):
    if subnet is not None:
        found = _find_one(conn.network.find_subnet, 'subnet', subnet)
        if found.network_id != network.id:
            raise PairSetupError(f'subnet {found.name} is not on network {network.name}')
        return found
    subnet_ids = [ip['subnet_id'] for ip in ports[0].fixed_ips or ()]
    for subnet_id in subnet_ids:
        candidate = conn.network.get_subnet(subnet_id)
        if candidate.ip_version == 4:
            return candidate
    if subnet_ids:
        return conn.network.get_subnet(subnet_ids[0])
    raise PairSetupError(f'port {ports[0].id} has no fixed IP: nothing to build a VIP on')


def _fixed_ip(port, subnet_id):
    for fixed in port.fixed_ips or ():
        if fixed.get('subnet_id') == subnet_id:
            return fixed['ip_address']
    raise PairSetupError(f'port {port.id} has no address on subnet {subnet_id}')


def _vip_port(conn, pair_name, network):
    found = list(conn.network.ports(name=vip_port_name(pair_name), network_id=network.id))
    if len(found) > 1:
        raise PairSetupError(
            f'pair {pair_name}: {len(found)} ports named {vip_port_name(pair_name)} on '
            f'network {network.name}; delete the extra ones')
    return found[0] if found else None


def _as_plan_port(port) -> dict[str, Any]:
    return {'id': port.id, 'network_id': port.network_id,
            'fixed_ips': [dict(f) for f in port.fixed_ips or ()]}


def _floating_ip(conn, floating_ip, vip_port, active_port, floating_network):
    """The floating IP to put on the VIP port, and the plan's keyword for it."""
    if floating_ip is not None:
        found = conn.network.find_ip(floating_ip, ignore_missing=True)
        if found is None:
            found = next(iter(conn.network.ips(floating_ip_address=floating_ip)), None)
        if found is None:
            raise PairSetupError(f'no floating IP {floating_ip!r}')
        return {'floating_ip': {'id': found.id, 'port_id': found.port_id,
                                'floating_ip_address': found.floating_ip_address}}
    # Already done, or a pair that ran in api mode: keep its public address.
    for port in ([vip_port] if vip_port is not None else []) + [active_port]:
        held = sorted(conn.network.ips(port_id=port.id), key=lambda f: f.id)
        if held:
            return {'floating_ip': {'id': held[0].id, 'port_id': held[0].port_id,
                                    'floating_ip_address': held[0].floating_ip_address}}
    if floating_network is not None:
        net = _find_one(conn.network.find_network, 'network', floating_network)
        return {'floating_network_id': net.id}
    return {}


def _security_group(conn, ports, security_group, ether_type, notes):
    """The group to add the VRRP rule to, or None when nothing must change."""
    if security_group is False:
        notes.append('security groups left alone (asked)')
        return None
    common = set(ports[0].security_group_ids or ()) & set(ports[1].security_group_ids or ())
    if security_group in (None, 'auto'):
        if not common:
            if not all(p.is_port_security_enabled for p in ports):
                notes.append('port security off: no security group rule needed')
            else:
                notes.append('the members share no security group: allow VRRP '
                             '(IP protocol 112) between them yourself')
            return None
        # Any shared group letting VRRP in from its members is enough (the
        # default group does); only when none does, add the rule to one.
        candidates = sorted(common)
    else:
        candidates = [_find_one(conn.network.find_security_group, 'security group',
                                security_group).id]
        if candidates[0] not in common:
            notes.append(f'the members are not both in security group {candidates[0]}: '
                         f'its VRRP rule lets VRRP in only from its own members')
    for group_id in candidates:
        rule = _vrrp_rule(conn, group_id, ether_type)
        if rule is not None:
            notes.append(f'security group {group_id} already lets VRRP in from its '
                         f'members (rule {rule.id})')
            return None
    return candidates[0]


def _vrrp_rule(conn, group_id, ether_type):
    """A rule of ``group_id`` letting VRRP in from the group's members, or None."""
    for rule in conn.network.security_group_rules(security_group_id=group_id):
        if (rule.direction == 'ingress' and rule.ether_type == ether_type
                and rule.remote_group_id == group_id and not rule.remote_ip_prefix
                and (rule.protocol if rule.protocol is None else str(rule.protocol).lower())
                in _VRRP_PROTOCOLS):
            return rule
    return None


def _stand_in_vip(cidr: str, taken: list[str]) -> str:
    for host in ipaddress.ip_network(cidr).hosts():
        if str(host) not in taken:
            return str(host)
    raise PairSetupError(f'subnet {cidr} has no room for a VIP')


def _call(conn, op: neutron_plan.NeutronOperation, results: dict[str, Any]):
    method = getattr(conn.network, op.method)
    args = neutron_plan.resolve(dict(op.args), results)
    try:
        if op.target is None:
            return method(**args)
        return method(neutron_plan.resolve(op.target, results), **args)
    except os_exc.ConflictException:
        if op.conflict_ok:
            return None
        raise


def setup_vrrp_pair(conn, pair_name: str, *, virtual_router_id: int,
                    vip_network: str | None = None, vip_subnet: str | None = None,
                    vip_address: str | None = None,
                    floating_ip: str | None = None, floating_network: str | None = None,
                    security_group: str | bool | None = 'auto',
                    pair_key: str = PAIR_KEY, role_key: str = ROLE_KEY,
                    project_id: str | None = None,
                    guest: Mapping[str, Any] | None = None) -> PairSetup:
    """Create what a VRRP pair needs in Neutron (idempotently) and render its configs.

    ``conn``: an admin openstacksdk Connection. ``vip_network``/``vip_subnet``
    (name or id) default to the active member's first port's network and its
    first IPv4 subnet; ``vip_address`` to one Neutron allocates. The floating
    IP is ``floating_ip`` (address or id) if given, else the one already on the
    VIP port or on the active member's port (a pair moving from api mode keeps
    its address), else a new one from ``floating_network``, else none.
    ``security_group``: ``'auto'`` adds the VRRP rule to the group both
    members share unless a rule already lets it in, a name/id picks the group,
    ``False`` leaves groups alone. ``guest``: further :class:`GuestPair`
    fields (``interface``, ``service``, ``check_command``, ``webhook``,
    ``preempt``, ``auth_pass``, ...).

    Raises :class:`PairSetupError`, :class:`~.neutron_plan.PlanError` or
    :class:`~.model.KeepalivedConfigError` with one line naming the problem;
    openstacksdk errors of the calls themselves pass through.
    """
    guest = dict(guest or {})
    for reserved in ('name', 'members', 'vip', 'virtual_router_id'):
        if reserved in guest:
            raise PairSetupError(f'guest.{reserved}: set by setup_vrrp_pair itself')
    # Validate the keepalived side before touching Neutron.
    templater.check_int('virtual_router_id', virtual_router_id, 1, 255)
    servers = _pair_servers(conn, pair_name, pair_key, role_key, project_id)
    network = None
    if vip_network is not None:
        network = _find_one(conn.network.find_network, 'network', vip_network)
    network, ports = _member_ports(conn, servers, network)
    subnet = _subnet(conn, network, ports, vip_subnet)
    fixed = [_fixed_ip(p, subnet.id) for p in ports]
    notes: list[str] = []
    if servers[0].compute_host and servers[0].compute_host == servers[1].compute_host:
        notes.append(f'both members run on {servers[0].compute_host}: one host failure '
                     f'takes the pair down')
    vip_port = _vip_port(conn, pair_name, network)
    fip_kw = _floating_ip(conn, floating_ip, vip_port, ports[0], floating_network)
    members = [{'name': s.name, 'fixed_ip': ip} for s, ip in zip(servers, fixed, strict=True)]
    prefix = ipaddress.ip_network(subnet.cidr).prefixlen

    def render(vip):
        return templater.render_guest_pair(dict(
            guest, name=pair_name, members=members, vip=f'{vip}/{prefix}',
            virtual_router_id=virtual_router_id))

    # Render once with a stand-in VIP so a bad name, check or webhook is
    # reported before Neutron is touched; the real VIP may not exist yet.
    render(vip_address or _stand_in_vip(subnet.cidr, fixed))
    ether_type = f'IPv{ipaddress.ip_address(fixed[0]).version}'
    group_id = _security_group(conn, ports, security_group, ether_type, notes)

    plan = neutron_plan.plan_vrrp_pair(
        [{'server': s.name, 'port_id': p.id, 'fixed_ip': ip, 'network_id': p.network_id,
          'allowed_address_pairs': tuple(dict(a) for a in p.allowed_address_pairs or ()),
          'port_security_enabled': p.is_port_security_enabled is not False,
          'security_group_ids': tuple(p.security_group_ids or ())}
         for s, p, ip in zip(servers, ports, fixed, strict=True)],
        {'network_id': network.id, 'subnet_id': subnet.id, 'vip_address': vip_address},
        pair_name=pair_name, vip_port=_as_plan_port(vip_port) if vip_port else None,
        security_group_id=group_id, **fip_kw)

    results: dict[str, Any] = {}
    if vip_port is not None:
        results[neutron_plan.VIP_PORT_REF] = vip_port
    done = []
    for op in plan:
        result = _call(conn, op, results)
        if op.ref is not None and result is not None:
            results[op.ref] = result
        done.append(op.reason if result is not None or not op.conflict_ok
                    else op.reason + ' (already there)')
    vip = results[neutron_plan.VIP_PORT_REF]
    vip_ip = _fixed_ip(vip, subnet.id)
    fip_address = None
    held = sorted(conn.network.ips(port_id=vip.id), key=lambda f: f.id)
    if held:
        fip_address = held[0].floating_ip_address

    configs = render(vip_ip)
    return PairSetup(
        pair=pair_name, members=tuple(s.name for s in servers), vip_address=vip_ip,
        vip_port_id=vip.id, floating_ip=fip_address, operations=tuple(done),
        notes=tuple(notes), configs=configs)


__all__ = ['PairSetup', 'PairSetupError', 'PlanError', 'setup_vrrp_pair', 'vip_port_name']
