"""Plan the Neutron side of a VRRP guest pair, as data.

For two servers to share a VIP with keepalived, Neutron must know about it:

1. a VIP port reserves the address on the network (so nobody else gets it and
   a floating IP has something to point at);
2. both servers' ports list the VIP in ``allowed_address_pairs`` (otherwise
   port security drops traffic to and from the VIP);
3. VRRP (IP protocol 112) is allowed between the members' security group;
4. the floating IP is associated with the VIP port, so it follows whichever
   member holds the VIP.

:func:`plan_vrrp_pair` compares the wanted state with what the caller read from
Neutron and returns only the operations still needed, so running a plan twice
is harmless (VMR actions must be idempotent). It does no I/O: the action code
executes the operations with openstacksdk's network proxy, in order, storing
each result under its ``ref`` and resolving :class:`Ref` placeholders with
:func:`resolve` before each call.
"""

import dataclasses
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

VIP_PORT_REF = 'vip_port'
FLOATING_IP_REF = 'floating_ip'


class PlanError(ValueError):
    """The inputs cannot form a VRRP pair; ``str()`` is one line naming the problem."""


@dataclasses.dataclass(frozen=True)
class Ref:
    """A value only known once an earlier operation ran (e.g. the new port's id).

    ``field`` is ``id`` or ``ip_address`` (the first fixed IP of a port).
    """

    name: str
    field: str = 'id'


@dataclasses.dataclass(frozen=True)
class PairServerPort:
    """A pair member's port on the VIP network, as currently known to Neutron."""

    server: str
    port_id: str
    fixed_ip: str
    network_id: str | None = None
    allowed_address_pairs: tuple[Mapping[str, Any], ...] = ()
    port_security_enabled: bool = True
    security_group_ids: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class VipNetwork:
    """Where the VIP lives: network, subnet and optionally a fixed address."""

    network_id: str
    subnet_id: str
    vip_address: str | None = None


@dataclasses.dataclass(frozen=True)
class NeutronOperation:
    """One call on openstacksdk's network proxy.

    ``method`` names the proxy method (``create_port``, ``update_port``,
    ``create_ip``, ``update_ip``, ``create_security_group_rule``); ``target``
    is the positional id for ``update_*``; ``args`` are keyword arguments;
    ``ref`` names the result for later :class:`Ref` placeholders;
    ``conflict_ok`` says a 409 means "already there" and counts as success;
    ``reason`` is the sentence to put in the recovery journal.
    """

    method: str
    args: Mapping[str, Any]
    reason: str
    target: 'str | Ref | None' = None
    ref: str | None = None
    conflict_ok: bool = False


def _coerce(cls, value, where):
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise PlanError(f'{where}: must be a mapping, got {value!r}')
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise PlanError(f'{where}: unknown field {unknown[0]!r}')
    try:
        return cls(**value)
    except TypeError as exc:
        raise PlanError(f'{where}: {exc}')


def _address(value: str, where: str):
    try:
        return ipaddress.ip_address(value)
    except (TypeError, ValueError):
        raise PlanError(f'{where}: not a valid IP address: {value!r}')


def _port_ip_on_subnet(port: Mapping[str, Any], subnet_id: str) -> str | None:
    for fixed in port.get('fixed_ips') or ():
        if fixed.get('subnet_id') == subnet_id:
            return fixed.get('ip_address')
    return None


def plan_vrrp_pair(servers: Sequence[PairServerPort | Mapping[str, Any]],
                   vip_network: VipNetwork | Mapping[str, Any],
                   *, pair_name: str,
                   vip_port: Mapping[str, Any] | None = None,
                   floating_ip: Mapping[str, Any] | None = None,
                   floating_network_id: str | None = None,
                   security_group_id: str | None = None) -> list[NeutronOperation]:
    """Return the Neutron operations still needed for a VRRP pair.

    ``servers``: the two members' ports on the VIP network (current state).
    ``vip_network``: where the VIP lives. ``vip_port``: the existing VIP port
    (as returned by Neutron, with ``id`` and ``fixed_ips``) when it was
    already created, else ``None``. ``floating_ip``: an existing floating IP
    (``id``, ``port_id``) to move onto the VIP port, or ``None`` with
    ``floating_network_id`` to allocate one, or neither for no floating IP.
    ``security_group_id``: the members' group, to allow VRRP within it.
    """
    servers = [_coerce(PairServerPort, s, f'servers[{i}]') for i, s in enumerate(servers)]
    vip_network = _coerce(VipNetwork, vip_network, 'vip_network')
    if len(servers) != 2:
        raise PlanError(f'servers: a VRRP pair needs exactly 2 servers, got {len(servers)}')
    if servers[0].port_id == servers[1].port_id:
        raise PlanError(f'servers: both members use port {servers[0].port_id}')
    if floating_ip is not None and floating_network_id is not None:
        raise PlanError('floating_ip: give an existing floating IP or floating_network_id, '
                        'not both')
    fixed = [_address(s.fixed_ip, f'servers[{i}].fixed_ip') for i, s in enumerate(servers)]
    if fixed[0] == fixed[1]:
        raise PlanError(f'servers: both members have fixed IP {fixed[0]}')
    for s in servers:
        if s.network_id is not None and s.network_id != vip_network.network_id:
            raise PlanError(
                f'servers[{s.server}]: port {s.port_id} is on network {s.network_id}, '
                f'not on the VIP network {vip_network.network_id}')

    ops: list[NeutronOperation] = []
    vip_address: str | Ref
    if vip_network.vip_address is not None:
        vip = _address(vip_network.vip_address, 'vip_network.vip_address')
        if vip in fixed:
            raise PlanError(f'vip_network.vip_address: {vip} is a member\'s fixed IP')
        if vip.version != fixed[0].version or fixed[0].version != fixed[1].version:
            raise PlanError('vip_network.vip_address: the VIP and both fixed IPs must use '
                            'one IP version')
        vip_address = str(vip)
    else:
        vip_address = Ref(VIP_PORT_REF, 'ip_address')

    if vip_port is not None:
        if vip_port.get('network_id') not in (None, vip_network.network_id):
            raise PlanError(f'vip_port: {vip_port.get("id")} is on network '
                            f'{vip_port.get("network_id")}, not {vip_network.network_id}')
        existing = _port_ip_on_subnet(vip_port, vip_network.subnet_id)
        if existing is None:
            raise PlanError(f'vip_port: {vip_port.get("id")} has no address on subnet '
                            f'{vip_network.subnet_id}')
        if isinstance(vip_address, str) and existing != vip_address:
            raise PlanError(f'vip_port: {vip_port.get("id")} holds {existing}, '
                            f'not the wanted VIP {vip_address}')
        vip_address = existing
        vip_port_id: str | Ref = vip_port['id']
    else:
        fixed_ip: dict[str, str] = {'subnet_id': vip_network.subnet_id}
        if isinstance(vip_address, str):
            fixed_ip['ip_address'] = vip_address
        ops.append(NeutronOperation(
            method='create_port', ref=VIP_PORT_REF,
            args={'name': f'vmr-vip-{pair_name}', 'network_id': vip_network.network_id,
                  'fixed_ips': [fixed_ip], 'admin_state_up': True,
                  'description': f'VMR VRRP VIP of pair {pair_name}'},
            reason=f'reserve the VIP of pair {pair_name} with a port'))
        vip_port_id = Ref(VIP_PORT_REF, 'id')

    for s in servers:
        if not s.port_security_enabled:
            continue  # no port security: nothing filters the VIP's traffic
        current = [dict(p) for p in s.allowed_address_pairs]
        if any(_same_address(p.get('ip_address'), vip_address) for p in current):
            continue
        ops.append(NeutronOperation(
            method='update_port', target=s.port_id,
            # Neutron replaces the whole list: keep the pairs already there.
            args={'allowed_address_pairs': current + [{'ip_address': vip_address}]},
            reason=f'allow the VIP on {s.server}\'s port {s.port_id}'))

    if security_group_id is not None:
        ops.append(NeutronOperation(
            method='create_security_group_rule', conflict_ok=True,
            args={'security_group_id': security_group_id, 'direction': 'ingress',
                  'protocol': 'vrrp', 'remote_group_id': security_group_id,
                  'ether_type': f'IPv{fixed[0].version}',
                  'description': 'VMR: VRRP between pair members'},
            reason=f'allow VRRP (IP protocol 112) within security group {security_group_id}'))

    if floating_ip is not None:
        if floating_ip.get('port_id') != vip_port_id:
            label = floating_ip.get('floating_ip_address') or floating_ip['id']
            ops.append(NeutronOperation(
                method='update_ip', target=floating_ip['id'],
                args={'port_id': vip_port_id},
                reason=f'point floating IP {label} at the VIP port of pair {pair_name}'))
    elif floating_network_id is not None:
        ops.append(NeutronOperation(
            method='create_ip', ref=FLOATING_IP_REF,
            args={'floating_network_id': floating_network_id, 'port_id': vip_port_id,
                  'description': f'VMR VRRP VIP of pair {pair_name}'},
            reason=f'allocate a floating IP for the VIP of pair {pair_name}'))
    return ops


def _same_address(a: Any, b: Any) -> bool:
    if isinstance(b, Ref) or a is None:
        return False
    try:
        # allowed_address_pairs may hold a CIDR; compare the network with the VIP.
        return ipaddress.ip_network(a, strict=False) == ipaddress.ip_network(b)
    except ValueError:
        return False


def resolve(value: Any, results: Mapping[str, Any]) -> Any:
    """Replace :class:`Ref` placeholders in ``value`` with earlier results.

    ``results`` maps a ``ref`` to the object the operation returned (an
    openstacksdk resource or a plain mapping).
    """
    if isinstance(value, Ref):
        try:
            result = results[value.name]
        except KeyError:
            raise PlanError(f'operation result {value.name!r} is not available yet')
        if value.field == 'ip_address':
            fixed_ips = _get(result, 'fixed_ips') or []
            if not fixed_ips:
                raise PlanError(f'{value.name} has no fixed IP')
            return fixed_ips[0]['ip_address']
        return _get(result, value.field)
    if isinstance(value, Mapping):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, results) for v in value]
    return value


def _get(obj: Any, field: str) -> Any:
    if isinstance(obj, Mapping):
        return obj[field]
    return getattr(obj, field)
