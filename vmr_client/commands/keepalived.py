"""``vmr keepalived render`` and ``vmr keepalived setup-pair``.

``render`` prints keepalived configurations for inspection (it wraps
:func:`vmr_keepalived.main`, same options and exit codes).
``setup-pair`` talks to the cloud, not to the VMR API: with cloud admin
credentials (``--os-cloud``) it creates the VIP port, the allowed address
pairs, the VRRP security group rule and the floating IP of a guest pair
(idempotently, see :func:`vmr_keepalived.pair.setup_vrrp_pair`)
and prints each member's files or writes them to a directory (mode 0600).

Both are plugged into the ``vmr.cli`` namespace by entry points
(``keepalived_render``, ``keepalived_setup-pair``); :data:`COMMANDS` maps
their names to the classes, as ``vmr_client.shell.COMMANDS`` does.
"""

import os

from cliff import command

from vmr_common import exceptions
import vmr_keepalived
from vmr_keepalived import KeepalivedConfigError

#: exit codes, as ``vmr keepalived render`` uses them
EXIT_INVALID = 2
EXIT_CHECK_FAILED = 3
EXIT_CLOUD = 1


class RenderKeepalived(command.Command):
    """Render keepalived configs of a guest pair or of the controllers' API VIP.

    Variants: ``guest-pair`` and ``controller-vip``; see ``vmr keepalived
    render VARIANT --help``. Nothing is sent anywhere.
    """

    def get_parser(self, prog_name):
        parser = vmr_keepalived.build_parser()
        parser.prog = prog_name
        parse_args = parser.parse_args

        # cliff parses the command's argv with this parser, then calls
        # take_action; keep the argv so the renderer's own main() (one code
        # path, one set of exit codes) runs on exactly what was typed.
        def keep_argv(args=None, namespace=None):
            parsed = parse_args(args, namespace)
            parsed.vmr_argv = list(args or ())
            return parsed
        parser.parse_args = keep_argv
        return parser

    def take_action(self, parsed_args):
        return vmr_keepalived.main(parsed_args.vmr_argv, stdout=self.app.stdout,
                                   stderr=self.app.stderr)


def _security_group(value):
    return {'auto': 'auto', 'none': False}.get(value, value)


class SetupPair(command.Command):
    """Set up a VRRP guest pair in the cloud and print its keepalived files.

    Finds the two servers with metadata vmr_pair=PAIR (vmr_role=active and
    vmr_role=standby), creates what Neutron lacks (VIP port, allowed address
    pairs on both ports, VRRP rule in their shared security group, floating IP
    on the VIP port) and renders each member's keepalived.conf, notify hook
    and cloud-init user data. Running it again changes nothing. Needs cloud
    admin credentials (--os-cloud), not the VMR API.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('pair', metavar='PAIR', help='value of the vmr_pair metadata')
        parser.add_argument('--os-cloud', dest='pair_cloud', metavar='CLOUD',
                            help='cloud in clouds.yaml with admin credentials '
                                 '(env OS_CLOUD)')
        parser.add_argument('--virtual-router-id', type=int, required=True,
                            metavar='1-255', help='VRRP router id, unique on the network')
        net = parser.add_argument_group('Neutron')
        net.add_argument('--vip-network', metavar='NETWORK',
                         help="network of the VIP (default: the active member's first "
                              "port's network)")
        net.add_argument('--vip-subnet', metavar='SUBNET',
                         help='subnet of the VIP (default: the first IPv4 subnet of '
                              "the active member's port)")
        net.add_argument('--vip-address', metavar='IP',
                         help='fixed VIP address (default: Neutron allocates one)')
        fip = net.add_mutually_exclusive_group()
        fip.add_argument('--floating-ip', metavar='ADDRESS|ID',
                         help='floating IP to put on the VIP port')
        fip.add_argument('--floating-network', metavar='NETWORK',
                         help='external network to allocate a floating IP from when '
                              'the pair has none')
        net.add_argument('--security-group', default='auto', metavar='auto|none|GROUP',
                         help='where to allow VRRP between the members: auto (the '
                              'group both ports share, unless a rule already allows '
                              'it), none, or a group name/id (default auto)')
        net.add_argument('--pair-key', default='vmr_pair',
                         help='metadata key naming the pair (default vmr_pair)')
        net.add_argument('--role-key', default='vmr_role',
                         help='metadata key holding active/standby (default vmr_role)')
        net.add_argument('--project', metavar='PROJECT_ID',
                         help="look for the pair's servers in this project only")
        guest = parser.add_argument_group('keepalived in the guests')
        guest.add_argument('--interface', help='interface name in the guests (default eth0)')
        svc = guest.add_mutually_exclusive_group()
        svc.add_argument('--service', help='guarded process name, checked with pidof')
        svc.add_argument('--check-command',
                         help='absolute command whose exit status is the check')
        preempt = guest.add_mutually_exclusive_group()
        preempt.add_argument('--preempt', dest='preempt', action='store_true', default=None,
                             help='the active member takes the VIP back when it returns')
        preempt.add_argument('--nopreempt', dest='preempt', action='store_false',
                             help='a returning member leaves the VIP where it is (default)')
        guest.add_argument('--auth-pass-file', metavar='FILE',
                           help='file holding a VRRPv2 PASS password (at most 8 characters)')
        guest.add_argument('--webhook-url',
                           help="VMR's keepalived webhook, e.g. "
                                "https://vmr:8779/v1/alarms/keepalived")
        guest.add_argument('--webhook-token-file', metavar='FILE',
                           help='file with [api] webhook_token, embedded in the user data '
                                '(written in the guest as a 0600 file)')
        out = parser.add_argument_group('output')
        out.add_argument('--output-dir', metavar='DIR',
                         help='write DIR/<member>/<file> (mode 0600) instead of printing '
                              'the files')
        out.add_argument('--check', action='store_true',
                         help='run "keepalived -t" on every keepalived.conf (needs '
                              'keepalived and the named interface on this machine)')
        return parser

    def _guest(self, args):
        guest = {}
        for name in ('interface', 'service', 'check_command', 'preempt'):
            if getattr(args, name) is not None:
                guest[name] = getattr(args, name)
        if args.auth_pass_file:
            guest['auth_pass'] = vmr_keepalived.read_secret(args.auth_pass_file,
                                                     '--auth-pass-file')
        if args.webhook_url or args.webhook_token_file:
            if not args.webhook_url:
                raise KeepalivedConfigError('--webhook-token-file', 'needs --webhook-url')
            guest['webhook'] = {'url': args.webhook_url}
            if args.webhook_token_file:
                guest['webhook']['token'] = vmr_keepalived.read_secret(
                    args.webhook_token_file, '--webhook-token-file')
        return guest

    def _connect(self, args):
        import openstack
        cloud = args.pair_cloud or getattr(self.app.options, 'os_cloud', None) \
            or os.environ.get('OS_CLOUD')
        if not cloud:
            raise KeepalivedConfigError(
                '--os-cloud', 'setup-pair needs a cloud in clouds.yaml with admin '
                              'credentials (or OS_CLOUD)')
        return openstack.connect(cloud=cloud)

    def take_action(self, parsed_args):
        from openstack import exceptions as os_exc

        from vmr_keepalived import pair as pair_mod
        stderr = self.app.stderr
        try:
            guest = self._guest(parsed_args)
            conn = self._connect(parsed_args)
        except KeepalivedConfigError as exc:
            stderr.write('error: %s\n' % exc)
            return EXIT_INVALID
        try:
            result = pair_mod.setup_vrrp_pair(
                conn, parsed_args.pair, virtual_router_id=parsed_args.virtual_router_id,
                vip_network=parsed_args.vip_network, vip_subnet=parsed_args.vip_subnet,
                vip_address=parsed_args.vip_address, floating_ip=parsed_args.floating_ip,
                floating_network=parsed_args.floating_network,
                security_group=_security_group(parsed_args.security_group),
                pair_key=parsed_args.pair_key, role_key=parsed_args.role_key,
                project_id=parsed_args.project, guest=guest)
        except (pair_mod.PairSetupError, vmr_keepalived.PlanError,
                KeepalivedConfigError) as exc:
            stderr.write('error: %s\n' % exc)
            return EXIT_INVALID
        except (os_exc.SDKException, OSError) as exc:
            # keystoneauth and Neutron errors: one line, no traceback.
            text = exceptions.first_line(exc)
            stderr.write('error: cloud: %s\n' % text)
            return EXIT_CLOUD
        finally:
            conn.close()
        return self._report(parsed_args, result)

    def _report(self, args, result):
        stdout, stderr = self.app.stdout, self.app.stderr
        stderr.write(result.summary() + '\n')
        for note in result.notes:
            stderr.write('note: %s\n' % note)
        configs = {name: dict(files) for name, files in result.configs.items()}
        if args.check:
            failures = vmr_keepalived.check_rendered(configs)
            if failures:
                for line in failures:
                    stderr.write('error: %s\n' % line)
                return EXIT_CHECK_FAILED
        if args.output_dir:
            vmr_keepalived.write_rendered(configs, args.output_dir)
            for name, files in configs.items():
                for filename in files:
                    stdout.write(os.path.join(args.output_dir, name, filename) + '\n')
            return 0
        for name, files in configs.items():
            for filename, content in files.items():
                stdout.write('### %s/%s\n' % (name, filename))
                stdout.write(content)
        return 0


#: command name -> class; mirrored by the ``vmr.cli`` entry points
COMMANDS = {
    'keepalived render': RenderKeepalived,
    'keepalived setup-pair': SetupPair,
}
