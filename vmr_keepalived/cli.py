"""Render VMR keepalived configurations from the command line.

``main(argv)`` is what ``vmr keepalived render`` wraps; it also runs alone::

    python -m vmr_keepalived guest-pair --input pair.yaml
    python -m vmr_keepalived controller-vip \\
        --controller ctl-1=192.0.2.11 --controller ctl-2=192.0.2.12 \\
        --vip 192.0.2.100/24 --virtual-router-id 60

Options given on the command line override the same field in ``--input``.
Secrets are read from files (``--auth-pass-file``, ``--webhook-token-file``),
never taken as arguments, because argv is visible to every local user.
"""

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from vmr_keepalived import templater
from vmr_keepalived.files import check_rendered, read_secret, write_rendered
from vmr_keepalived.model import KeepalivedConfigError

EXAMPLE_GUEST_PAIR = """\
# guest-pair input (YAML); every field of GuestPair may appear
name: web
members:
  - {name: web-1, fixed_ip: 10.0.0.11}
  - {name: web-2, fixed_ip: 10.0.0.12}
vip: 10.0.0.100/24
virtual_router_id: 51
interface: eth0
service: nginx            # or check_command: /usr/local/bin/check-web
preempt: false
webhook:
  url: https://vmr.example.org:8779/v1/alarms/keepalived
  token_file: /etc/vmr/keepalived-notify.token
"""


def _member(text: str) -> dict[str, str]:
    name, sep, address = text.partition('=')
    if not sep or not name or not address:
        raise argparse.ArgumentTypeError(f'expected NAME=ADDRESS, got {text!r}')
    return {'name': name, 'fixed_ip': address}


def _controller(text: str) -> dict[str, str]:
    member = _member(text)
    return {'name': member['name'], 'address': member['fixed_ip']}


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for :func:`main` (exposed for the ``vmr`` CLI wrapper)."""
    parser = argparse.ArgumentParser(
        prog='vmr keepalived render',
        description='Render keepalived configurations for VRRP guest pairs or for the '
                    'VMR controllers\' API VIP, validate them and print them.',
        epilog='Errors name the field and the rule; nothing is written unless '
               '--output-dir is given. Exit codes: 0 ok, 2 invalid input, '
               '3 keepalived -t rejected a file.')
    sub = parser.add_subparsers(dest='variant', required=True, metavar='VARIANT')

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument('--input', metavar='FILE',
                       help='YAML file with the input fields (see --example); '
                            'command-line options override it')
        p.add_argument('--vip', help='virtual IP with prefix length, e.g. 10.0.0.100/24')
        p.add_argument('--virtual-router-id', type=int, metavar='1-255',
                       help='VRRP router id, unique per network segment')
        p.add_argument('--interface', help='interface name on the nodes (default eth0)')
        preempt = p.add_mutually_exclusive_group()
        preempt.add_argument('--preempt', dest='preempt', action='store_true', default=None,
                             help='the preferred node takes the VIP back when it returns')
        preempt.add_argument('--nopreempt', dest='preempt', action='store_false',
                             help='a returning node leaves the VIP where it is (default)')
        p.add_argument('--advert-int', type=int, metavar='SECONDS',
                       help='VRRP advertisement interval (default 1)')
        p.add_argument('--auth-pass-file', metavar='FILE',
                       help='file holding a VRRPv2 PASS password (at most 8 characters)')
        p.add_argument('--only', metavar='NAME', help='print only this member/controller')
        p.add_argument('--file', choices=[templater.CONF_FILE, templater.NOTIFY_FILE,
                                          templater.USER_DATA_FILE],
                       help='print only this file (raw, without headers)')
        p.add_argument('--output-dir', metavar='DIR',
                       help='also write DIR/<name>/<file> (mode 0600)')
        p.add_argument('--check', action='store_true',
                       help='run "keepalived -t" on every keepalived.conf; it needs '
                            'keepalived, the named interface and the track script\'s '
                            'program on this machine')

    g = sub.add_parser(
        'guest-pair', help='active/standby pair of VMs sharing a VIP on a Neutron port',
        description='Per member: keepalived.conf, notify.sh (webhook hook) and cloud-init '
                    'user-data that installs them.')
    common(g)
    g.add_argument('--example', action='store_true', help='print an example --input file')
    g.add_argument('--name', help='pair name (letters, digits, ".", "_", "-")')
    g.add_argument('--member', action='append', type=_member, metavar='NAME=FIXED_IP',
                   help='a member (twice; the first is the preferred active)')
    svc = g.add_mutually_exclusive_group()
    svc.add_argument('--service', help='guarded process name, checked with pidof')
    svc.add_argument('--check-command', help='absolute command whose exit status is the check')
    g.add_argument('--webhook-url', help="VMR's keepalived webhook URL")
    g.add_argument('--webhook-token-file', metavar='FILE',
                   help='local file with the webhook token to embed in the user data '
                        '(written on the guest as a 0600 file)')

    c = sub.add_parser(
        'controller-vip', help="one stable address for the VMR API across 2-3 controllers",
        description="keepalived.conf per controller; the VIP follows a coordinator whose "
                    "/readyz answers.")
    common(c)
    c.add_argument('--controller', action='append', type=_controller,
                   metavar='NAME=ADDRESS', help='a controller (2 or 3 times, in priority order)')
    c.add_argument('--api-port', type=int, help=f'coordinator API port checked on '
                                                f'127.0.0.1 (default '
                                                f'{templater.DEFAULT_API_PORT})')
    return parser


def _load_input(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise KeepalivedConfigError('--input', f'cannot read {path}: {exc.strerror}')
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' line {mark.line + 1}' if mark else ''
        raise KeepalivedConfigError('--input', f'{path}{where} is not valid YAML')
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KeepalivedConfigError('--input', f'{path} must hold a mapping')
    return data


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    data = _load_input(args.input)
    overrides = {
        'vip': args.vip, 'virtual_router_id': args.virtual_router_id,
        'interface': args.interface, 'preempt': args.preempt, 'advert_int': args.advert_int,
    }
    if args.auth_pass_file:
        overrides['auth_pass'] = read_secret(args.auth_pass_file, '--auth-pass-file')
    if args.variant == 'guest-pair':
        overrides.update(name=args.name, members=args.member, service=args.service,
                         check_command=args.check_command)
        if args.service or args.check_command:
            # One guard only: a command-line guard replaces the file's.
            data.pop('service', None)
            data.pop('check_command', None)
        if args.webhook_url or args.webhook_token_file:
            webhook = dict(data.get('webhook') or {})
            if args.webhook_url:
                webhook['url'] = args.webhook_url
            if args.webhook_token_file:
                webhook['token'] = read_secret(args.webhook_token_file,
                                                '--webhook-token-file')
            overrides['webhook'] = webhook
    else:
        overrides.update(controllers=args.controller, api_port=args.api_port)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return data


def main(argv: Sequence[str] | None = None, stdout=None, stderr=None) -> int:
    """Parse ``argv``, render, print; return the exit code (0, 2 or 3)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    if getattr(args, 'example', False):
        stdout.write(EXAMPLE_GUEST_PAIR)
        return 0
    try:
        fields = _fields(args)
        if args.variant == 'guest-pair':
            rendered = templater.render_guest_pair(fields)
        else:
            rendered = templater.render_controller_vip(fields)
        if args.only is not None:
            if args.only not in rendered:
                raise KeepalivedConfigError(
                    '--only', f'no member {args.only!r} (have {", ".join(rendered)})')
            rendered = {args.only: rendered[args.only]}
    except KeepalivedConfigError as exc:
        stderr.write(f'error: {exc}\n')
        return 2

    if args.check:
        failures = check_rendered(rendered)
        if failures:
            for line in failures:
                stderr.write(f'error: {line}\n')
            return 3
    if args.output_dir:
        write_rendered(rendered, args.output_dir)
    for name, files in rendered.items():
        for filename, content in files.items():
            if args.file is not None and filename != args.file:
                continue
            if args.file is None or len(rendered) > 1:
                stdout.write(f'### {name}/{filename}\n')
            stdout.write(content)
    return 0

