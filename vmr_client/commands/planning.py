"""``vmr plan HOST`` and ``vmr capacity``: dry runs of failures."""

from cliff import lister

from vmr_client import render
from vmr_client.commands import Lister, api

RESOURCE_LABELS = (('vcpus', 'vCPU'), ('ram_mb', 'RAM MiB'), ('disk_gb', 'Disk GiB'))


def _destination(step):
    if step.get('destination'):
        return step['destination']
    if step.get('outcome') == 'no capacity':
        return 'NO CAPACITY'
    return '-'


def _server(entry):
    return entry.get('server_name') or entry.get('server_id')


class Plan(lister.Lister):
    """What VMR would do if HOST failed now: in order, which contract heals
    which server, with which action, and where it goes.

    Nothing is changed. The table ends with ``fits: yes`` when every server
    that needs a new home (evacuate, boot_from_snapshot) gets one.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', help='compute host whose failure to plan')
        return parser

    def take_action(self, parsed_args):
        self._plan = plan = api(self.app).get('/v1/plan', host=parsed_args.host)['plan']
        rows = [(s['order'], _server(s), s['contract'], s['action'], _destination(s),
                 s.get('reason') or '') for s in plan['steps']]
        return ('Order', 'Server', 'Contract', 'Action', 'Destination', 'Note'), rows

    def produce_output(self, parsed_args, column_names, data):
        status = super().produce_output(parsed_args, column_names, data)
        if parsed_args.formatter == 'table':
            self.app.stdout.write(format_plan_footer(self._plan))
        return status


def format_plan_footer(plan):
    """The lines under the plan's table: skipped, unmatched, the verdict."""
    lines = []
    for entry in plan.get('skipped') or []:
        lines.append('skipped: %s: %s' % (_server(entry), entry.get('reason')))
    for entry in plan.get('unmatched') or []:
        lines.append('unmatched (no contract heals it): %s' % _server(entry))
    for entry in plan.get('ignored_contracts') or []:
        lines.append('ignored contract %s: %s' % (entry.get('key'), entry.get('reason')))
    lines.append(plan.get('summary') or '')
    fits = 'yes' if plan['fits'] else 'no (%d server(s) without capacity)' % \
        plan.get('without_capacity', 0)
    lines.append('fits: %s' % fits)
    return '\n'.join(lines) + '\n'


def _used_of(resources, name):
    numbers = (resources or {}).get(name) or {}
    used, total = numbers.get('used', 0), numbers.get('total', 0)
    return render.Shown({'used': used, 'total': total},
                        '%s / %s' % (used, total))


def _breaks(group):
    breaking = group.get('breaks_at')
    if not breaking:
        return ''
    if not breaking.get('resource'):
        return breaking.get('reason') or ''
    label = dict(RESOURCE_LABELS)[breaking['resource']]
    return 'losing %s: %s %s short' % (', '.join(breaking['lost_hosts']),
                                       breaking['short_by'], label)


class Capacity(Lister):
    """How many host failures each aggregate and zone survives (N+k).

    Only enabled, up, not forced-down hosts count. Free room is added up
    across hosts (fragmentation ignored); ``vmr plan HOST`` places VM by VM.
    """

    def take_action(self, parsed_args):
        self._capacity = body = api(self.app).get('/v1/capacity')['capacity']
        rows = []
        for group in list(body['groups']) + [body['cloud']]:
            rows.append((group['kind'], group['name'],
                         render.Shown({'usable': group['usable_hosts'],
                                       'total': group['hosts']},
                                      '%d / %d' % (group['usable_hosts'],
                                                   group['hosts'])),
                         group['n_plus'])
                        + tuple(_used_of(group.get('resources'), name)
                                for name, _label in RESOURCE_LABELS)
                        + (_breaks(group),))
        columns = ('Kind', 'Name', 'Usable hosts', 'Survives') + tuple(
            '%s used / total' % label for _name, label in RESOURCE_LABELS) + ('Breaks at',)
        return columns, rows

    def produce_output(self, parsed_args, column_names, data):
        status = super().produce_output(parsed_args, column_names, data)
        if parsed_args.formatter == 'table':
            lines = ['not counted: %s (%s)' % (entry['host'], entry['reason'])
                     for entry in self._capacity['cloud'].get('unusable') or []]
            lines.append(self._capacity.get('summary') or '')
            self.app.stdout.write('\n'.join(lines) + '\n')
        return status
