"""``vmr recovery list|show|purge`` and ``vmr recover``."""

import time

from cliff import command, show

from vmr_client import render
from vmr_client.commands import Lister, api, delete_each
from vmr_client.errors import ApiError
from vmr_common.models import RecoveryState

RECOVERY_STATES = RecoveryState.ALL


class ListRecoveries(Lister):
    """List recoveries, newest first.

    The journal: open recoveries and those closed less than ``[journal]
    archive_after`` ago.  ``--all`` adds the history, where the leader
    moves closed ones after that (kept up to ``history_max_count`` and
    ``history_max_age``; ``vmr recovery purge`` removes them sooner).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--state', choices=RECOVERY_STATES,
                            help='only recoveries in this state')
        parser.add_argument('--host', help='only recoveries of this host')
        parser.add_argument('--limit', type=int,
                            help='at most this many (the newest)')
        parser.add_argument('--all', action='store_true',
                            help='the history too (closed recoveries the '
                                 'leader archived)')
        return parser

    def take_action(self, parsed_args):
        body = api(self.app).get('/v1/recoveries', state=parsed_args.state,
                                   host=parsed_args.host,
                                   limit=parsed_args.limit,
                                   history='true' if parsed_args.all
                                   else None)
        rows = []
        for rec in body['recoveries']:
            rows.append((rec['id'], rec.get('host'), rec.get('state'),
                         rec.get('trigger'), rec.get('fenced'),
                         render.Shown(
                             {'total': rec.get('steps', 0),
                              'by_state': rec.get('steps_by_state') or {}},
                             render.format_steps_summary(
                                 rec.get('steps_by_state') or {},
                                 rec.get('steps', 0))),
                         render.TimeColumn(rec.get('created_at')),
                         render.TimeColumn(rec.get('updated_at'))) +
                        ((render.TimeColumn(rec.get('archived_at')),)
                         if parsed_args.all else ()))
        return (('ID', 'Host', 'State', 'Trigger', 'Fenced', 'Steps',
                 'Created', 'Updated') +
                (('Archived',) if parsed_args.all else ()), rows)


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
        record = api(self.app).get('/v1/recoveries/' + parsed_args.id)[
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


class PurgeRecoveries(command.Command):
    """Delete closed recoveries from the history, by id or by age.

    Only the history: a recovery still in the journal is open, or closed
    less than ``[journal] archive_after`` ago.  The leader also prunes the
    history by itself (``[journal] history_max_count``,
    ``history_max_age``).  Needs the admin role.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('ids', nargs='*', metavar='id',
                            help='recovery id (see vmr recovery list --all)')
        parser.add_argument('--older-than', type=float, metavar='DAYS',
                            help='every recovery in the history that closed '
                                 'more than DAYS days ago')
        return parser

    def take_action(self, parsed_args):
        ids = list(parsed_args.ids)
        if parsed_args.older_than is not None:
            if parsed_args.older_than < 0:
                raise ApiError('--older-than must be 0 days or more, not %g'
                               % parsed_args.older_than)
            before = time.time() - parsed_args.older_than * 86400
            body = api(self.app).get('/v1/recoveries', history='true')
            ids += [rec['id'] for rec in body['recoveries']
                    if rec.get('archived_at') is not None and
                    (rec.get('updated_at') or 0) < before and
                    rec['id'] not in ids]
        elif not ids:
            raise ApiError('give recovery ids or --older-than DAYS')
        delete_each(self.app, '/v1/recoveries/', ids,
                    'purged recovery %s')
        if not ids:
            self.app.stdout.write('nothing in the history closed more than '
                                  '%g days ago\n' % parsed_args.older_than)


class Recover(command.Command):
    """Heal a server, or every server of a host, with a contract, now.

    The contract must have trigger ``manual`` (see ``vmr contract list``);
    only it heals the servers, whatever other contracts say. Prints the
    recovery id; follow it with ``vmr recovery show ID``. Needs the admin
    role.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--contract', required=True,
                            help='name of a contract whose trigger is manual')
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument('server', nargs='?',
                            help='id or name of the server to heal')
        target.add_argument('--host',
                            help='heal every server on this compute host')
        parser.add_argument('--reason', help='why (kept in the recovery)')
        return parser

    def take_action(self, parsed_args):
        body = {'contract': parsed_args.contract}
        if parsed_args.host is not None:
            body['host'] = parsed_args.host
        else:
            body['server'] = parsed_args.server
        if parsed_args.reason is not None:
            body['reason'] = parsed_args.reason
        result = api(self.app).post('/v1/recoveries', body)
        what = ('host %s' % parsed_args.host if parsed_args.host is not None
                else 'server %s' % parsed_args.server)
        self.app.stdout.write(
            'manual recovery %s of %s with contract %s handed to the leader; '
            'follow it with: vmr recovery show %s\n' % (
                result['recovery_id'], what, parsed_args.contract,
                result['recovery_id']))
