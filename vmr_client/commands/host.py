"""``vmr host list|show|maintenance|confirm-fenced``."""

from cliff import command, lister, show

from vmr_client import render
from vmr_client.commands import ShowOne, api
from vmr_client.errors import ApiError
from vmr_common.models import HostState

HOST_STATES = HostState.ALL


class ListHosts(lister.Lister):
    """List compute hosts: state, live membership, maintenance."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--state', choices=HOST_STATES,
                            help='only hosts in this state')
        return parser

    def take_action(self, parsed_args):
        body = api(self.app).get('/v1/hosts', state=parsed_args.state)
        rows = [(h['host'], h['state'], h['live'], h['maintenance'],
                 h.get('zone'), render.AgeColumn(h.get('state_since')),
                 h.get('recovery') or '', h.get('reason') or '')
                for h in body['hosts']]
        return (('Host', 'State', 'Live', 'Maintenance', 'Zone', 'Since',
                 'Recovery', 'Reason'), rows)


def host_row(host, member=None, fence=None):
    """``(columns, values)`` of one host for ShowOne."""
    agent = host.get('agent') or {}
    fields = [
        ('host', host.get('host')),
        ('state', host.get('state')),
        ('state_since', render.TimeColumn(host.get('state_since'))),
        ('reason', host.get('reason')),
        ('live', host.get('live')),
        ('enabled', host.get('enabled', True)),
        ('maintenance', bool(host.get('maintenance'))),
        ('maintenance_by', host.get('maintenance_by')),
        ('maintenance_reason', host.get('maintenance_reason')),
        ('maintenance_at', render.TimeColumn(host.get('maintenance_at'))),
        ('zone', agent.get('zone') or host.get('zone')),
        ('boot_id', agent.get('boot_id')),
        ('version', agent.get('version')),
        ('addresses', render.JsonColumn(agent.get('addresses'))),
        ('recovery', host.get('recovery')),
    ]
    if fence is not None:
        fields += [
            ('fence_profile', render.Shown(
                {k: fence.get(k) for k in ('profile', 'ladder', 'post',
                                           'error')},
                render.format_fence_profile(fence))),
            ('fence_path', render.Shown(
                fence.get('last_check'),
                render.format_fence_check(fence.get('last_check')))),
        ]
    fields += [
        ('agent', render.MappingColumn(agent)),
        ('member', render.MappingColumn(member)),
    ]
    return tuple(f for f, _v in fields), tuple(v for _f, v in fields)


class ShowHost(ShowOne):
    """Show a host with its agent's last reported facts."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', help='compute host name')
        return parser

    def take_action(self, parsed_args):
        body = api(self.app).get('/v1/hosts/' + parsed_args.host)
        return host_row(body['host'], body.get('member'), body.get('fence'))


#: exit status of ``host maintenance --on`` when nothing will drain the host
NOTHING_DRAINS = 3


class HostMaintenance(show.ShowOne):
    """Put a host into maintenance (VMR leaves it alone) or take it out.

    With a contract whose trigger is maintenance, VMR then disables the
    host's nova-compute (disabled_reason "vmr: maintenance REASON") and
    drains it; ending maintenance enables it again if VMR disabled it.
    Without such a contract --on still sets maintenance but warns that
    nothing will be drained, and exits with status 3.
    """

    warning = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', help='compute host name')
        switch = parser.add_mutually_exclusive_group(required=True)
        switch.add_argument('--on', dest='enabled', action='store_true',
                            default=None, help='start maintenance')
        switch.add_argument('--off', dest='enabled', action='store_false',
                            help='end maintenance')
        parser.add_argument('--reason', help='why (kept in the host record)')
        return parser

    def take_action(self, parsed_args):
        body = {'enabled': parsed_args.enabled}
        if parsed_args.reason is not None:
            body['reason'] = parsed_args.reason
        result = api(self.app).post(
            '/v1/hosts/%s/maintenance' % parsed_args.host, body)
        self.warning = result.get('warning')
        return host_row(result['host'])

    def run(self, parsed_args):
        status = super().run(parsed_args)
        if self.warning:
            self.app.stderr.write('warning: %s\n' % self.warning)
            return NOTHING_DRAINS
        return status


class ConfirmFenced(command.Command):
    """Confirm that you powered a host off yourself (when fencing is blocked).

    VMR then treats the host as fenced and restarts its servers elsewhere:
    if the host is in fact running, its servers could run twice. The
    confirmation is journaled with your name.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', help='compute host name')
        parser.add_argument('--reason', help='how you verified it is off')
        parser.add_argument('--yes', action='store_true',
                            help='I verified the host is powered off')
        return parser

    def take_action(self, parsed_args):
        if not parsed_args.yes:
            raise ApiError('confirm-fenced tells VMR that %s is powered off '
                           'and its servers may be restarted elsewhere; '
                           'verify it is off, then repeat with --yes'
                           % parsed_args.host)
        body = {}
        if parsed_args.reason is not None:
            body['reason'] = parsed_args.reason
        result = api(self.app).post(
            '/v1/hosts/%s/confirm-fenced' % parsed_args.host, body)
        request = result['request']
        self.app.stdout.write(
            'confirm-fenced for %s handed to the leader (by %s)\n'
            % (parsed_args.host, request.get('by')))
