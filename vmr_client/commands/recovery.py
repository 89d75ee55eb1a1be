"""``vmr recovery list|show``."""

from cliff import lister, show

from vmr_client import render

RECOVERY_STATES = ('detected', 'confirming', 'fencing', 'fenced', 'acting',
                   'done', 'failed', 'blocked')


class ListRecoveries(lister.Lister):
    """List recoveries, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--state', choices=RECOVERY_STATES,
                            help='only recoveries in this state')
        parser.add_argument('--host', help='only recoveries of this host')
        parser.add_argument('--limit', type=int,
                            help='at most this many (the newest)')
        return parser

    def take_action(self, parsed_args):
        body = self.app.client.get('/v1/recoveries', state=parsed_args.state,
                                   host=parsed_args.host,
                                   limit=parsed_args.limit)
        rows = []
        for rec in body['recoveries']:
            rows.append((rec['id'], rec.get('host'), rec.get('state'),
                         rec.get('trigger'), rec.get('fenced'),
                         render.format_steps_summary(
                             rec.get('steps_by_state') or {},
                             rec.get('steps', 0)),
                         render.TimeColumn(rec.get('created_at')),
                         render.TimeColumn(rec.get('updated_at'))))
        return (('ID', 'Host', 'State', 'Trigger', 'Fenced', 'Steps',
                 'Created', 'Updated'), rows)


class ShowRecovery(show.ShowOne):
    """Show a recovery: fencing evidence, each step and a timeline.

    The default (table) output is a readable report; ``-f json`` or
    ``-f yaml`` give the whole journal record.
    """

    FIELDS = ('id', 'host', 'state', 'trigger', 'created_at', 'updated_at',
              'fencing', 'steps', 'timeline')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('id', help='recovery id')
        return parser

    def take_action(self, parsed_args):
        record = self.app.client.get('/v1/recoveries/' + parsed_args.id)[
            'recovery']
        self._record = record
        values = []
        for field in self.FIELDS:
            value = record.get(field)
            if field in ('created_at', 'updated_at'):
                value = render.TimeColumn(value)
            elif isinstance(value, (dict, list)):
                value = render.JsonColumn(value)
            values.append(value)
        return self.FIELDS, values

    def produce_output(self, parsed_args, column_names, data):
        if parsed_args.formatter == 'table' and not parsed_args.columns:
            self.app.stdout.write(render.format_recovery(self._record))
            return 0
        return super().produce_output(parsed_args, column_names, data)
