"""``vmr status``, ``vmr pause|resume``, ``vmr brake release``."""

from cliff import command

from vmr_client import render
from vmr_client.commands import ShowOne, api


def _counts(by_state):
    return ', '.join('%s=%d' % (state, n) for state, n in
                     sorted(by_state.items()) if n) or 'none'


class Status(ShowOne):
    """Leader, pause, brake, counts of hosts and recoveries by state, and
    the VRRP state each keepalived pair member last reported."""

    def take_action(self, parsed_args):
        body = api(self.app).get('/v1/status')
        leader = body.get('leader') or {}
        brake = body.get('brake')
        zones = sorted(((brake or {}).get('zones') or {}).items())
        hosts, recoveries = body['hosts'], body['recoveries']
        members = body.get('members') or []
        heartbeats = body.get('heartbeats') or {}
        fence_paths = body.get('fence_paths')
        fields = [
            ('leader', leader.get('member')
             if leader.get('member') else render.Shown(None, 'none')),
            ('leader_token', leader.get('token')),
            ('coordinators', render.Shown(
                body.get('coordinators') or [],
                ', '.join(body.get('coordinators') or []) or 'none')),
            ('paused', render.JsonColumn(body.get('paused'))
             if body.get('paused') else False),
            ('brake', render.Shown(
                brake, '; '.join('%s: %s' % (zone, entry.get('reason', ''))
                                 for zone, entry in zones)
                if brake else 'released')),
            ('hosts', render.Shown(hosts, '%d (%s)' % (
                hosts['total'], _counts(hosts['by_state'])))),
            ('recoveries', render.Shown(recoveries, '%d (%s)' % (
                recoveries['total'], _counts(recoveries['by_state'])))),
            ('agents_live', render.Shown(
                {'live': len(members), 'heartbeat': heartbeats},
                '%d%s' % (len(members), ' (heartbeat: %s)'
                          % _counts(heartbeats) if heartbeats else ''))),
            ('legacy_members', render.Shown(
                body.get('legacy_members') or [],
                ', '.join(body.get('legacy_members') or []) or 'none')),
            ('contracts', body.get('contracts')),
            ('duplicate_agents', render.Shown(
                body.get('duplicate_agents') or [], render.format_duplicates(
                    body.get('duplicate_agents') or []))),
            ('fence_paths', render.Shown(
                fence_paths, render.format_fence_paths(fence_paths))),
            ('vrrp', render.VrrpColumn(body.get('vrrp') or {})),
        ]
        me = body.get('coordinator') or {}
        if me.get('member'):
            fields += [
                ('this_coordinator', render.Shown(
                    {'member': me['member'],
                     'is_leader': bool(me.get('is_leader'))},
                    '%s (%s)' % (me['member'], 'leader' if me.get('is_leader')
                                 else 'standby'))),
                ('last_cycle', me.get('sentence')),
                ('cycle_seconds', me.get('cycle_seconds')),
            ]
        check = body.get('preflight') or {}
        if check.get('ready') is not None:
            fields.append(('ready', render.Shown(
                {'ready': bool(check['ready']),
                 'problems': check.get('problems') or []},
                'yes' if check['ready'] else
                'NO: ' + '; '.join(check.get('problems') or []))))
        return tuple(f for f, _v in fields), tuple(v for _f, v in fields)


class Pause(command.Command):
    """Pause VMR: the leader keeps observing but fences and heals nothing."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--reason', help='why (shown in vmr status)')
        return parser

    def take_action(self, parsed_args):
        body = {}
        if parsed_args.reason is not None:
            body['reason'] = parsed_args.reason
        paused = api(self.app).post('/v1/pause', body)['paused']
        self.app.stdout.write('VMR paused by %s%s\n' % (
            paused.get('by'), ': %s' % paused['reason']
            if paused.get('reason') else ''))


class Resume(command.Command):
    """Resume after a pause."""

    def take_action(self, parsed_args):
        body = api(self.app).post('/v1/resume', {})
        self.app.stdout.write('VMR resumed\n' if body.get('was_paused')
                              else 'VMR was not paused\n')


class BrakeRelease(command.Command):
    """Release the disruption brake once the cause is understood.

    While the many hosts that engaged it are still absent, the leader may
    engage it again on its next cycle.
    """

    def take_action(self, parsed_args):
        body = api(self.app).post('/v1/brake/release', {})
        self.app.stdout.write('disruption brake released\n'
                              if body.get('released')
                              else 'the disruption brake was not engaged\n')
