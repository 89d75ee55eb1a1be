"""Render keepalived configurations from validated inputs.

Two variants ship as templates (package data under ``templates/``):

* **guest pair** — an active/standby pair of VMs sharing a VIP on a Neutron
  port: per member a keepalived.conf (unicast VRRP to the other member), the
  notify hook that reports state changes to VMR's webhook, and cloud-init user
  data that installs both on first boot (:func:`render_guest_pair`);
* **controller VIP** — one stable address for the VMR API across 2-3
  controllers, following a coordinator whose ``/readyz`` answers
  (:func:`render_controller_vip`).

The inputs (:mod:`vmr_keepalived.model`) validate themselves, so
every rendered keepalived.conf is one that ``keepalived -t`` accepts on a node
that has the named interface and the track script's program (``-t`` checks
both).
"""

import dataclasses
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2

from vmr_keepalived.model import (  # noqa: F401  (re-exported API)
    GlobalDefs,
    KeepalivedConfig,
    KeepalivedConfigError,
    TrackScript,
    VrrpInstance,
    check_int,
    check_name,
    check_script_command,
    from_mapping,
)

CONF_FILE = 'keepalived.conf'
NOTIFY_FILE = 'notify.sh'
USER_DATA_FILE = 'user-data'

# Where the guest's files land; the notify path is what keepalived.conf names.
GUEST_CONF_PATH = '/etc/keepalived/keepalived.conf'
GUEST_NOTIFY_PATH = '/usr/local/sbin/vmr-keepalived-notify'
GUEST_TOKEN_FILE = '/etc/vmr/keepalived-notify.token'

# Script security wants absolute paths. pidof is /usr/bin/pidof on Debian,
# Ubuntu and other merged-/usr systems; elsewhere give check_command instead.
PIDOF = '/usr/bin/pidof'
CURL = '/usr/bin/curl'

DEFAULT_API_PORT = 8779  # vmr_common.conf.api bind_port default
ACTIVE_PRIORITY = 150
STANDBY_PRIORITY = 100
CONTROLLER_PRIORITIES = (150, 125, 100)

_HEADER_RE = re.compile(r'^[A-Za-z0-9-]{1,64}$')
_TOKEN_RE = re.compile(r'^[\x21-\x7e]{16,512}$')
_PATH_RE = re.compile(r'^/[A-Za-z0-9_./-]*$')


class KeepalivedTemplater:
    """Jinja2 environment over the packaged templates.

    ``StrictUndefined`` turns a missing template variable into an error
    instead of an empty string, so a template/model mismatch fails the golden
    tests rather than producing a config with a hole in it.
    """

    def __init__(self):
        # autoescape off on purpose: the output is keepalived/shell/YAML text,
        # not HTML, and every value was validated against a safe alphabet.
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader('vmr_keepalived', 'templates'),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,  # noqa: S701  # nosec B701
        )

    def render(self, template: str, **context: Any) -> str:
        """Render one packaged template by file name."""
        return self.env.get_template(template).render(**context)

    def render_config(self, config: KeepalivedConfig, variant: str = 'keepalived.conf.j2',
                      **context: Any) -> str:
        """Render a keepalived.conf for ``config`` with the given variant template."""
        if not isinstance(config, KeepalivedConfig):
            raise TypeError('config must be a KeepalivedConfig')
        return self.render(variant, config=config, **context)


@dataclasses.dataclass(frozen=True)
class NotifyWebhook:
    """Where a guest's notify hook reports VRRP state changes.

    ``token`` is optional: when given, the user data writes it to
    ``token_file`` (mode 0600). Cloud-init user data can be read back through
    the metadata service by anyone on the guest, so operators who need more
    should leave ``token`` unset and provision the file by other means.
    """

    url: str
    token_file: str = GUEST_TOKEN_FILE
    token: str | None = dataclasses.field(default=None, repr=False)
    token_header: str = 'X-VMR-Token'
    timeout: int = 5
    retries: int = 2

    def __post_init__(self):
        url = self.url
        parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if (parsed is None or parsed.scheme not in ('http', 'https') or not parsed.netloc
                or any(c.isspace() or c in '\'"\\`$' for c in url)):
            raise KeepalivedConfigError(
                'webhook.url', f'must be an http(s) URL without quotes, "$", "`" or '
                               f'whitespace, got {url!r}')
        if not isinstance(self.token_file, str) or not _PATH_RE.match(self.token_file):
            raise KeepalivedConfigError(
                'webhook.token_file', f'must be an absolute path of letters, digits, '
                                      f'"_", ".", "-", got {self.token_file!r}')
        if self.token is not None and (
                not isinstance(self.token, str) or not _TOKEN_RE.match(self.token)):
            raise KeepalivedConfigError(
                'webhook.token', 'must be 16-512 printable characters without whitespace')
        if not isinstance(self.token_header, str) or not _HEADER_RE.match(self.token_header):
            raise KeepalivedConfigError(
                'webhook.token_header', f'must be an HTTP header name, '
                                        f'got {self.token_header!r}')
        for name, high in (('timeout', 300), ('retries', 10)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
                raise KeepalivedConfigError(f'webhook.{name}', f'must be 0-{high}, got {value!r}')


@dataclasses.dataclass(frozen=True)
class PairMember:
    """One VM of a guest pair: its name and fixed IP on the VIP's network."""

    name: str
    fixed_ip: str
    interface: str | None = None


@dataclasses.dataclass(frozen=True)
class GuestPair:
    """An active/standby pair of VMs sharing ``vip`` (address/prefix).

    The first member is the preferred active one (higher priority). With
    ``preempt`` false (the default) a returning member never takes the VIP
    back from a healthy peer, which avoids a second interruption; with
    ``preempt`` true the first member reclaims the VIP (``preempt_delay``
    seconds after it comes back, if set). Both members start in state BACKUP;
    when they start together the priorities elect the preferred one within
    three adverts, but with ``nopreempt`` whoever becomes MASTER first keeps
    the VIP.

    The guarded service is either ``service`` (a process name checked with
    ``pidof``) or ``check_command`` (an absolute command from the contract).
    """

    name: str
    members: tuple[PairMember, ...]
    vip: str
    virtual_router_id: int
    interface: str = 'eth0'
    service: str | None = None
    check_command: str | None = None
    check_interval: int = 2
    check_fall: int = 2
    check_rise: int = 2
    webhook: NotifyWebhook | None = None
    preempt: bool = False
    preempt_delay: int | None = None
    advert_int: int = 1
    auth_pass: str | None = dataclasses.field(default=None, repr=False)
    notify_path: str = GUEST_NOTIFY_PATH
    install_packages: bool = True

    def __post_init__(self):
        check_name('guest_pair.name', self.name)
        w = f'guest_pair[{self.name}]'
        members = self.members
        if isinstance(members, (str, bytes)) or not isinstance(members, Sequence):
            raise KeepalivedConfigError(f'{w}.members', 'must be a list of two members')
        members = tuple(from_mapping(PairMember, m, f'{w}.members[{i}]')
                        for i, m in enumerate(members))
        if len(members) != 2:
            raise KeepalivedConfigError(
                f'{w}.members', f'must list exactly 2 members, got {len(members)}')
        for m in members:
            check_name(f'{w}.members.name', m.name)
        if members[0].name == members[1].name:
            raise KeepalivedConfigError(f'{w}.members', f'member name {members[0].name!r} '
                                                        f'is used twice')
        if members[0].fixed_ip == members[1].fixed_ip:
            raise KeepalivedConfigError(
                f'{w}.members', f'both members have fixed_ip {members[0].fixed_ip}')
        object.__setattr__(self, 'members', members)
        if self.service is not None and self.check_command is not None:
            raise KeepalivedConfigError(
                f'{w}.service', 'give either service or check_command, not both')
        if self.service is not None:
            check_name(f'{w}.service', self.service)
        if self.check_command is not None:
            check_script_command(f'{w}.check_command', self.check_command)
        if self.webhook is not None:
            object.__setattr__(self, 'webhook',
                               from_mapping(NotifyWebhook, self.webhook, f'{w}.webhook'))
        if not isinstance(self.notify_path, str) or not _PATH_RE.match(self.notify_path):
            raise KeepalivedConfigError(
                f'{w}.notify_path', f'must be an absolute path, got {self.notify_path!r}')
        if not isinstance(self.preempt, bool):
            raise KeepalivedConfigError(f'{w}.preempt', f'must be true or false, '
                                                        f'got {self.preempt!r}')
        if self.preempt_delay is not None and not self.preempt:
            raise KeepalivedConfigError(f'{w}.preempt_delay', 'requires preempt: true')
        if not isinstance(self.install_packages, bool):
            raise KeepalivedConfigError(f'{w}.install_packages', f'must be true or false, '
                                                                 f'got {self.install_packages!r}')
        # Build once so a bad address or priority is reported at construction.
        self.configs()

    @property
    def check_script(self) -> str | None:
        """The track script command for the guarded service, if any."""
        if self.service is not None:
            return f'{PIDOF} {self.service}'
        return self.check_command

    def configs(self) -> dict[str, KeepalivedConfig]:
        """One :class:`KeepalivedConfig` per member name."""
        scripts = ()
        tracks = ()
        if self.check_script is not None:
            scripts = (TrackScript(
                name='vmr_check_service', script=self.check_script,
                interval=self.check_interval, fall=self.check_fall, rise=self.check_rise,
                timeout=max(1, self.check_interval)),)
            tracks = ('vmr_check_service',)
        out = {}
        for index, member in enumerate(self.members):
            peer = self.members[1 - index]
            active = index == 0
            instance = VrrpInstance(
                name=f'VI_{self.name}',
                interface=member.interface or self.interface,
                virtual_router_id=self.virtual_router_id,
                priority=ACTIVE_PRIORITY if active else STANDBY_PRIORITY,
                # Both start as BACKUP: keepalived ignores nopreempt and
                # preempt_delay in state MASTER.
                state='BACKUP',
                advert_int=self.advert_int,
                unicast_src_ip=member.fixed_ip,
                unicast_peers=(peer.fixed_ip,),
                virtual_ipaddresses=(self.vip,),
                nopreempt=not self.preempt,
                preempt_delay=self.preempt_delay,
                auth_pass=self.auth_pass,
                track_scripts=tracks,
                notify=self.notify_path if self.webhook is not None else None,
                # Re-announce the VIP now and then: Neutron/OVS learn the new
                # location from gratuitous ARPs, and one can be lost.
                garp_master_refresh=60,
            )
            out[member.name] = KeepalivedConfig(
                global_defs=GlobalDefs(router_id=member.name),
                instances=(instance,), track_scripts=scripts)
        return out


def render_guest_pair(pair: 'GuestPair | Mapping[str, Any]',
                      templater: KeepalivedTemplater | None = None
                      ) -> dict[str, dict[str, str]]:
    """Render every file a guest pair needs.

    Returns ``{member_name: {"keepalived.conf": ..., "notify.sh": ...,
    "user-data": ...}}``; ``notify.sh`` is present only when the pair has a
    webhook. The user data (``#cloud-config``) writes the other files to their
    places on first boot and starts keepalived.
    """
    pair = from_mapping(GuestPair, pair, 'guest_pair')
    templater = templater or KeepalivedTemplater()
    out: dict[str, dict[str, str]] = {}
    for index, (member_name, config) in enumerate(pair.configs().items()):
        peer = pair.members[1 - index]
        files: dict[str, str] = {}
        files[CONF_FILE] = templater.render_config(
            config, 'guest_pair.conf.j2', pair=pair.name, member=member_name,
            role='preferred active' if index == 0 else 'standby', peers=[peer.name])
        write_files = [{'path': GUEST_CONF_PATH, 'permissions': '0644',
                        'content': files[CONF_FILE]}]
        if pair.webhook is not None:
            files[NOTIFY_FILE] = templater.render(
                'notify.sh.j2', pair=pair.name, member=member_name,
                url=pair.webhook.url, token_file=pair.webhook.token_file,
                token_header=pair.webhook.token_header, timeout=pair.webhook.timeout,
                retries=pair.webhook.retries)
            # 0755 root:root: keepalived's script security refuses anything a
            # non-root user could modify.
            write_files.append({'path': pair.notify_path, 'permissions': '0755',
                                'content': files[NOTIFY_FILE]})
            if pair.webhook.token is not None:
                write_files.append({'path': pair.webhook.token_file, 'permissions': '0600',
                                    'content': pair.webhook.token + '\n'})
        packages = []
        if pair.install_packages:
            packages = ['keepalived'] + (['curl'] if pair.webhook is not None else [])
        files[USER_DATA_FILE] = templater.render(
            'user-data.j2', pair=pair.name, member=member_name, files=write_files,
            packages=packages)
        out[member_name] = files
    return out


@dataclasses.dataclass(frozen=True)
class ControllerMember:
    """One controller: its name and address on the VIP's network."""

    name: str
    address: str
    interface: str | None = None


@dataclasses.dataclass(frozen=True)
class ControllerVip:
    """One stable address for the VMR API across 2-3 controllers.

    Every controller runs keepalived in state BACKUP with ``nopreempt`` by
    default (the VIP stays where it is while that coordinator is ready) and a
    track script on the local coordinator's ``/readyz``. With weight 0 a
    failing check puts the node in FAULT, which releases the VIP to a ready
    peer. Priorities follow the order of ``controllers``.
    """

    controllers: tuple[ControllerMember, ...]
    vip: str
    virtual_router_id: int
    interface: str = 'eth0'
    api_port: int = DEFAULT_API_PORT
    check_interval: int = 2
    check_timeout: int = 2
    check_fall: int = 2
    check_rise: int = 2
    preempt: bool = False
    advert_int: int = 1
    auth_pass: str | None = dataclasses.field(default=None, repr=False)
    name: str = 'vmr_api'

    def __post_init__(self):
        check_name('controller_vip.name', self.name)
        controllers = self.controllers
        if isinstance(controllers, (str, bytes)) or not isinstance(controllers, Sequence):
            raise KeepalivedConfigError('controller_vip.controllers', 'must be a list')
        controllers = tuple(from_mapping(ControllerMember, c, f'controller_vip.controllers[{i}]')
                            for i, c in enumerate(controllers))
        if not 2 <= len(controllers) <= 3:
            raise KeepalivedConfigError(
                'controller_vip.controllers', f'must list 2 or 3 controllers, '
                                              f'got {len(controllers)}')
        names = [c.name for c in controllers]
        for n in names:
            check_name('controller_vip.controllers.name', n)
        if len(set(names)) != len(names):
            raise KeepalivedConfigError('controller_vip.controllers', 'a name is used twice')
        addresses = [c.address for c in controllers]
        if len(set(addresses)) != len(addresses):
            raise KeepalivedConfigError('controller_vip.controllers',
                                        'an address is used twice')
        object.__setattr__(self, 'controllers', controllers)
        check_int('controller_vip.api_port', self.api_port, 1, 65535)
        if not isinstance(self.preempt, bool):
            raise KeepalivedConfigError('controller_vip.preempt', f'must be true or false, '
                                                                  f'got {self.preempt!r}')
        check_int('controller_vip.check_timeout', self.check_timeout, 1, 60)
        self.configs()

    @property
    def check_script(self) -> str:
        """The ``/readyz`` probe of the local coordinator."""
        return (f'{CURL} -fsS --max-time {self.check_timeout} -o /dev/null '
                f'http://127.0.0.1:{self.api_port}/readyz')

    def configs(self) -> dict[str, KeepalivedConfig]:
        """One :class:`KeepalivedConfig` per controller name."""
        script = TrackScript(
            name='vmr_check_readyz', script=self.check_script, interval=self.check_interval,
            fall=self.check_fall, rise=self.check_rise,
            timeout=self.check_timeout + 1)
        out = {}
        for index, member in enumerate(self.controllers):
            instance = VrrpInstance(
                name=f'VI_{self.name}',
                interface=member.interface or self.interface,
                virtual_router_id=self.virtual_router_id,
                priority=CONTROLLER_PRIORITIES[index],
                state='BACKUP',  # see GuestPair.configs
                advert_int=self.advert_int,
                unicast_src_ip=member.address,
                unicast_peers=tuple(c.address for c in self.controllers if c is not member),
                virtual_ipaddresses=(self.vip,),
                nopreempt=not self.preempt,
                auth_pass=self.auth_pass,
                track_scripts=(script.name,),
                garp_master_refresh=60,
            )
            out[member.name] = KeepalivedConfig(
                global_defs=GlobalDefs(router_id=member.name),
                instances=(instance,), track_scripts=(script,))
        return out


def render_controller_vip(spec: 'ControllerVip | Mapping[str, Any]',
                          templater: KeepalivedTemplater | None = None
                          ) -> dict[str, dict[str, str]]:
    """Render the controllers' keepalived.conf files.

    Returns ``{controller_name: {"keepalived.conf": ...}}``.
    """
    spec = from_mapping(ControllerVip, spec, 'controller_vip')
    templater = templater or KeepalivedTemplater()
    out = {}
    for name, config in spec.configs().items():
        out[name] = {CONF_FILE: templater.render_config(
            config, 'controller_vip.conf.j2', member=name, vips=[spec.vip])}
    return out
