"""Typed, validated inputs for keepalived configurations.

Every class here checks itself when it is built, so a config that reaches the
templates is already known to be one keepalived accepts: the templates stay
dumb and every mistake surfaces as one :class:`KeepalivedConfigError` line
naming the field and the rule, long before a guest boots with a broken file.

Secrets (the VRRP ``auth_pass``) are excluded from ``repr`` so they never end
up in a log line or a test failure message.
"""

import dataclasses
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from vmr_common.models import NAME_RE, NAME_RULE

# Linux interface names: at most 15 bytes, no whitespace, '/' or ':'.
_IFNAME_RE = re.compile(r'^[A-Za-z0-9_.@-]{1,15}$')
# POSIX portable user names (what useradd accepts by default).
_USER_RE = re.compile(r'^[a-z_][a-z0-9_-]{0,31}$')
# Characters that would break out of keepalived's double-quoted script string
# or that keepalived's own tokenizer treats specially.
_SCRIPT_FORBIDDEN = set('"\n\r\t\\#!')

STATES = ('MASTER', 'BACKUP')
VRRP_VERSIONS = (2, 3)


class KeepalivedConfigError(ValueError):
    """A keepalived input broke a rule; ``str()`` is one line: ``field: rule``."""

    def __init__(self, field: str, rule: str):
        self.field = field
        self.rule = rule
        super().__init__(f'{field}: {rule}')


def check_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise KeepalivedConfigError(field, f'must be {NAME_RULE}, got {value!r}')
    return value


def check_int(field: str, value: Any, low: int, high: int) -> int:
    # bool is an int subclass; "priority: true" in YAML is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise KeepalivedConfigError(field, f'must be an integer {low}-{high}, got {value!r}')
    if not low <= value <= high:
        raise KeepalivedConfigError(field, f'must be {low}-{high}, got {value}')
    return value


def _check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise KeepalivedConfigError(field, f'must be true or false, got {value!r}')
    return value


def _check_address(field: str, value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if not isinstance(value, str) or '/' in value:
        raise KeepalivedConfigError(field, f'must be an IP address without prefix, got {value!r}')
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise KeepalivedConfigError(field, f'not a valid IP address: {value!r}')


def _check_interface_address(
        field: str, value: Any) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    if not isinstance(value, str) or '/' not in value:
        raise KeepalivedConfigError(
            field, f'must be an IP address with prefix length (e.g. 192.0.2.10/24), '
                   f'got {value!r}')
    try:
        return ipaddress.ip_interface(value)
    except ValueError:
        raise KeepalivedConfigError(field, f'not a valid IP address/prefix: {value!r}')


def check_script_command(field: str, value: Any) -> str:
    """Validate a command line keepalived will run (track or notify script).

    The first word must be an absolute path: with ``enable_script_security``
    keepalived checks the resolved file's ownership and permissions, and an
    explicit path keeps that check meaningful and independent of ``PATH``.
    """
    if not isinstance(value, str) or not value.strip():
        raise KeepalivedConfigError(field, f'must be a non-empty command, got {value!r}')
    bad = sorted(set(value) & _SCRIPT_FORBIDDEN)
    if bad:
        raise KeepalivedConfigError(
            field, f'must not contain {"".join(bad)!r} (keepalived cannot quote it), '
                   f'got {value!r}')
    if not value.startswith('/'):
        raise KeepalivedConfigError(
            field, f'must start with an absolute path (script security resolves it), '
                   f'got {value!r}')
    return value


def _as_tuple(field: str, value: Any) -> tuple:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise KeepalivedConfigError(field, f'must be a list, got {value!r}')
    return tuple(value)


def _set(obj: Any, name: str, value: Any) -> None:
    # Frozen dataclasses store their normalised values through object.__setattr__.
    object.__setattr__(obj, name, value)


def from_mapping(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping (YAML/JSON input), naming unknown keys.

    A typo such as ``prority`` is reported instead of being silently ignored.
    """
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise KeepalivedConfigError(where, f'must be a mapping, got {data!r}')
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        raise KeepalivedConfigError(
            where, f'unknown field {unknown[0]!r} (known: {", ".join(sorted(known))})')
    missing = sorted(
        f.name for f in dataclasses.fields(cls)
        if f.init and f.name not in data
        and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    if missing:
        raise KeepalivedConfigError(f'{where}.{missing[0]}', 'is required')
    return cls(**data)


@dataclasses.dataclass(frozen=True)
class TrackScript:
    """A ``vrrp_script`` block: a command whose exit status tracks service health.

    With ``weight`` 0 (the default) a failing script puts the instance in FAULT,
    which releases the VIP; a non-zero weight instead adds to (or subtracts from)
    the priority, which only moves the VIP if the peers preempt.
    """

    name: str
    script: str
    interval: int = 2
    fall: int = 2
    rise: int = 2
    weight: int = 0
    timeout: int | None = None

    def __post_init__(self):
        check_name('vrrp_script.name', self.name)
        where = f'vrrp_script[{self.name}]'
        check_script_command(f'{where}.script', self.script)
        check_int(f'{where}.interval', self.interval, 1, 3600)
        check_int(f'{where}.fall', self.fall, 1, 255)
        check_int(f'{where}.rise', self.rise, 1, 255)
        # keepalived 2.2 refuses |weight| > 253 (found by the property test).
        check_int(f'{where}.weight', self.weight, -253, 253)
        if self.timeout is not None:
            check_int(f'{where}.timeout', self.timeout, 1, 3600)


@dataclasses.dataclass(frozen=True)
class GlobalDefs:
    """The ``global_defs`` block.

    ``enable_script_security`` defaults to on: keepalived 2.2 then refuses
    scripts that a non-root user could modify, and ``keepalived -t`` fails
    (rc 6) on configs with scripts but without it.
    """

    router_id: str
    enable_script_security: bool = True
    script_user: str = 'root'
    vrrp_version: int = 2

    def __post_init__(self):
        check_name('global_defs.router_id', self.router_id)
        _check_bool('global_defs.enable_script_security', self.enable_script_security)
        if not isinstance(self.script_user, str) or not _USER_RE.match(self.script_user):
            raise KeepalivedConfigError(
                'global_defs.script_user', f'must be a user name, got {self.script_user!r}')
        if self.vrrp_version not in VRRP_VERSIONS:
            raise KeepalivedConfigError(
                'global_defs.vrrp_version', f'must be 2 or 3, got {self.vrrp_version!r}')


@dataclasses.dataclass(frozen=True)
class VrrpInstance:
    """A ``vrrp_instance`` block: one VIP set shared by the peers of one router id.

    Addresses are normalised (``2001:DB8::1`` becomes ``2001:db8::1``). All
    addresses of an instance must share one IP version: a VRRP instance speaks
    either IPv4 or IPv6, and keepalived drops the mismatched VIPs silently.
    """

    name: str
    interface: str
    virtual_router_id: int
    priority: int
    virtual_ipaddresses: tuple[str, ...]
    state: str = 'BACKUP'
    advert_int: int | float = 1
    unicast_src_ip: str | None = None
    unicast_peers: tuple[str, ...] = ()
    nopreempt: bool = False
    preempt_delay: int | None = None
    # repr=False: the VRRP password must never reach a log line or a traceback.
    auth_pass: str | None = dataclasses.field(default=None, repr=False)
    track_scripts: tuple[str, ...] = ()
    notify: str | None = None
    notify_master: str | None = None
    notify_backup: str | None = None
    notify_fault: str | None = None
    notify_stop: str | None = None
    garp_master_refresh: int | None = None

    NOTIFY_FIELDS = ('notify', 'notify_master', 'notify_backup', 'notify_fault', 'notify_stop')

    def __post_init__(self):
        check_name('vrrp_instance.name', self.name)
        w = f'vrrp_instance[{self.name}]'
        if not isinstance(self.interface, str) or not _IFNAME_RE.match(self.interface):
            raise KeepalivedConfigError(
                f'{w}.interface', f'must be a network interface name (1-15 characters, no '
                                  f'whitespace, "/" or ":"), got {self.interface!r}')
        check_int(f'{w}.virtual_router_id', self.virtual_router_id, 1, 255)
        # 255 is reserved by RFC 5798 for the owner of the real address.
        check_int(f'{w}.priority', self.priority, 1, 254)
        if self.state not in STATES:
            raise KeepalivedConfigError(
                f'{w}.state', f'must be MASTER or BACKUP, got {self.state!r}')
        if (isinstance(self.advert_int, bool)
                or not isinstance(self.advert_int, (int, float))
                or not 0 < self.advert_int <= 255):
            raise KeepalivedConfigError(
                f'{w}.advert_int', f'must be a number of seconds in (0, 255], '
                                   f'got {self.advert_int!r}')
        self._check_addresses(w)
        _check_bool(f'{w}.nopreempt', self.nopreempt)
        if self.nopreempt and self.state == 'MASTER':
            raise KeepalivedConfigError(
                f'{w}.nopreempt', 'requires state BACKUP (keepalived ignores nopreempt '
                                  'with initial state MASTER)')
        if self.preempt_delay is not None:
            check_int(f'{w}.preempt_delay', self.preempt_delay, 0, 1000)
            if self.nopreempt:
                raise KeepalivedConfigError(
                    f'{w}.preempt_delay', 'cannot be combined with nopreempt')
            if self.state == 'MASTER':
                raise KeepalivedConfigError(
                    f'{w}.preempt_delay', 'requires state BACKUP (keepalived ignores '
                                          'preempt_delay with initial state MASTER)')
        if self.auth_pass is not None:
            # Never echo the value: this message may be logged.
            if (not isinstance(self.auth_pass, str) or not 1 <= len(self.auth_pass) <= 8
                    or any(c.isspace() or c == '"' for c in self.auth_pass)):
                raise KeepalivedConfigError(
                    f'{w}.auth_pass', 'must be 1-8 characters without whitespace or quotes '
                                      '(VRRPv2 PASS authentication truncates at 8)')
        tracks = _as_tuple(f'{w}.track_scripts', self.track_scripts)
        for script in tracks:
            check_name(f'{w}.track_scripts', script)
        if len(set(tracks)) != len(tracks):
            raise KeepalivedConfigError(f'{w}.track_scripts', 'lists a script twice')
        _set(self, 'track_scripts', tracks)
        for field in self.NOTIFY_FIELDS:
            value = getattr(self, field)
            if value is not None:
                check_script_command(f'{w}.{field}', value)
        if self.garp_master_refresh is not None:
            check_int(f'{w}.garp_master_refresh', self.garp_master_refresh, 1, 3600)

    def _check_addresses(self, w: str) -> None:
        vips = _as_tuple(f'{w}.virtual_ipaddresses', self.virtual_ipaddresses)
        if not vips:
            raise KeepalivedConfigError(f'{w}.virtual_ipaddresses', 'must not be empty')
        parsed = [_check_interface_address(f'{w}.virtual_ipaddresses', v) for v in vips]
        if len({p.ip for p in parsed}) != len(parsed):
            raise KeepalivedConfigError(f'{w}.virtual_ipaddresses', 'lists an address twice')
        version = parsed[0].version
        for p in parsed:
            if p.version != version:
                raise KeepalivedConfigError(
                    f'{w}.virtual_ipaddresses',
                    f'mixes IPv{version} and IPv{p.version} ({p}); use one instance per '
                    f'IP version')
        _set(self, 'virtual_ipaddresses', tuple(str(p) for p in parsed))

        src = None
        if self.unicast_src_ip is not None:
            src = _check_address(f'{w}.unicast_src_ip', self.unicast_src_ip)
            if src.version != version:
                raise KeepalivedConfigError(
                    f'{w}.unicast_src_ip',
                    f'is IPv{src.version} but the VIPs are IPv{version}')
            _set(self, 'unicast_src_ip', str(src))
        peers = _as_tuple(f'{w}.unicast_peers', self.unicast_peers)
        parsed_peers = [_check_address(f'{w}.unicast_peers', p) for p in peers]
        for p in parsed_peers:
            if p.version != version:
                raise KeepalivedConfigError(
                    f'{w}.unicast_peers', f'{p} is IPv{p.version} but the VIPs are '
                                          f'IPv{version}')
        if len(set(parsed_peers)) != len(parsed_peers):
            raise KeepalivedConfigError(f'{w}.unicast_peers', 'lists a peer twice')
        if src is not None and src in parsed_peers:
            raise KeepalivedConfigError(
                f'{w}.unicast_peers', f'contains the source address {src} (a node must not '
                                      f'peer with itself)')
        vip_ips = {p.ip for p in parsed}
        for a in ([src] if src else []) + parsed_peers:
            if a in vip_ips:
                raise KeepalivedConfigError(
                    f'{w}.virtual_ipaddresses',
                    f'{a} is also a unicast address; the VIP must be a separate address')
        _set(self, 'unicast_peers', tuple(str(p) for p in parsed_peers))

    @property
    def ip_version(self) -> int:
        """4 or 6: the IP version every address of this instance uses."""
        return ipaddress.ip_interface(self.virtual_ipaddresses[0]).version


@dataclasses.dataclass(frozen=True)
class KeepalivedConfig:
    """A whole keepalived.conf: global defs, track scripts and VRRP instances.

    Checks the rules that span blocks: unique names, track scripts that exist,
    one virtual_router_id per interface and IP version, script security.
    """

    global_defs: GlobalDefs
    instances: tuple[VrrpInstance, ...]
    track_scripts: tuple[TrackScript, ...] = ()

    def __post_init__(self):
        if not isinstance(self.global_defs, GlobalDefs):
            raise KeepalivedConfigError('global_defs', 'must be a GlobalDefs')
        instances = _as_tuple('vrrp_instances', self.instances)
        scripts = _as_tuple('vrrp_scripts', self.track_scripts)
        if not instances:
            raise KeepalivedConfigError('vrrp_instances', 'must not be empty')
        for kind, items, cls in (('vrrp_instances', instances, VrrpInstance),
                                 ('vrrp_scripts', scripts, TrackScript)):
            for item in items:
                if not isinstance(item, cls):
                    raise KeepalivedConfigError(
                        kind, f'must hold {cls.__name__} objects, got {type(item).__name__}')
        _set(self, 'instances', instances)
        _set(self, 'track_scripts', scripts)

        script_names = set()
        for s in scripts:
            if s.name in script_names:
                raise KeepalivedConfigError(f'vrrp_script[{s.name}]', 'name is used twice')
            script_names.add(s.name)
        names = set()
        router_ids: dict[tuple[str, int, int], str] = {}
        for inst in instances:
            w = f'vrrp_instance[{inst.name}]'
            if inst.name in names:
                raise KeepalivedConfigError(w, 'name is used twice')
            names.add(inst.name)
            key = (inst.interface, inst.ip_version, inst.virtual_router_id)
            if key in router_ids:
                raise KeepalivedConfigError(
                    f'{w}.virtual_router_id',
                    f'{inst.virtual_router_id} is already used by vrrp_instance'
                    f'[{router_ids[key]}] on interface {inst.interface}')
            router_ids[key] = inst.name
            for t in inst.track_scripts:
                if t not in script_names:
                    raise KeepalivedConfigError(
                        f'{w}.track_scripts', f'refers to undefined vrrp_script {t!r}')
            # IPv6 VRRP only exists as version 3 (RFC 5798): keepalived runs
            # IPv6 instances as v3 whatever global_defs says.
            version = 3 if inst.ip_version == 6 else self.global_defs.vrrp_version
            if inst.auth_pass is not None and version == 3:
                raise KeepalivedConfigError(
                    f'{w}.auth_pass',
                    'VRRPv3 has no authentication; drop auth_pass or use vrrp_version 2'
                    if inst.ip_version == 4 else
                    'IPv6 VRRP is always version 3, which has no authentication; drop auth_pass')
            if version == 2 and float(inst.advert_int) != int(inst.advert_int):
                raise KeepalivedConfigError(
                    f'{w}.advert_int', f'VRRPv2 adverts are whole seconds, got '
                                       f'{inst.advert_int}')
        has_scripts = bool(scripts) or any(
            getattr(i, f) for i in instances for f in VrrpInstance.NOTIFY_FIELDS)
        if has_scripts and not self.global_defs.enable_script_security:
            raise KeepalivedConfigError(
                'global_defs.enable_script_security',
                'must be true when scripts are configured (keepalived -t refuses the config '
                'otherwise)')
