"""``vmr fence test HOST``: prove a host's fence path before an outage."""

from cliff import lister

from vmr_client.commands import api


class FenceTest(lister.Lister):
    """Ask every rung of HOST's fence ladder for the power status, timed.

    Nothing is switched: each rung's driver reads the power state through
    the coordinator that answers. Exit status 1 when no rung of the ladder
    answered (the host could not be fenced today). With ``--power-cycle
    --yes`` the host (in maintenance) is also switched off through the
    first rung that answered and on again.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', help='compute host whose fence path to '
                                         'test')
        parser.add_argument('--power-cycle', action='store_true',
                            help='also power the host off and on again '
                                 '(needs --yes and the host in maintenance)')
        parser.add_argument('--yes', action='store_true',
                            help='confirm --power-cycle')
        return parser

    def take_action(self, parsed_args):
        body = {}
        if parsed_args.power_cycle:
            if not parsed_args.yes:
                raise RuntimeError(
                    'refusing to power cycle %s without --yes: it switches '
                    'the host off and on' % parsed_args.host)
            body = {'power_cycle': True, 'confirm': True}
        self._result = result = api(self.app).post(
            '/v1/hosts/%s/fence-test' % parsed_args.host, body)
        rows = [('%s %d' % ('rung' if r['kind'] == 'ladder' else 'post',
                            r['index']), r['driver'],
                 ('ok: power %s' % r['power_state']) if r['ok']
                 else 'FAILED: %s' % (r.get('error') or 'no answer'),
                 '%.3f' % r['seconds']) for r in result['rungs']]
        return ('Rung', 'Driver', 'Result', 'Seconds'), rows

    def run(self, parsed_args):
        super().run(parsed_args)
        return 0 if self._result['ok'] else 1

    def produce_output(self, parsed_args, column_names, data):
        status = super().produce_output(parsed_args, column_names, data)
        result = self._result
        if parsed_args.formatter == 'table':
            lines = ['fence path of %s (profile %s, tested by %s): %s' % (
                result['host'], result.get('profile'),
                result.get('checked_by'),
                'ok' if result['ok'] else 'BROKEN, no rung answered')]
            cycle = result.get('power_cycle')
            if cycle:
                lines.append('power cycle via %s in %.2f s: off %s; on %s' % (
                    cycle['driver'], cycle['seconds'],
                    (cycle['off'] or {}).get('detail'),
                    (cycle['on'] or {}).get('detail', 'not attempted')))
            self.app.stdout.write('\n'.join(lines) + '\n')
        return status
