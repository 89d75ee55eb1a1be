"""``vmr segment create|list|show|set|delete``: failover segments."""

from cliff import command

from vmr_client.commands import Lister, ShowOne, api, delete_each
from vmr_client.errors import ApiError

METHODS = ('auto', 'reserved_host', 'auto_priority', 'rh_priority')
FIELDS = ('name', 'description', 'recovery_method', 'enabled', 'hosts',
          'reserved_hosts', 'aggregate', 'availability_zone')


def segment_row(doc):
    """``(columns, values)`` of one segment for ShowOne."""
    values = []
    for field in FIELDS:
        value = doc.get(field)
        if isinstance(value, list):
            value = ', '.join(value)
        values.append(value)
    return FIELDS, values


def _membership_args(parser, verb):
    parser.add_argument('--recovery-method', choices=METHODS,
                        help='where the servers of a failed member go '
                             '(Masakari\'s methods; %s)' % (
                                 'default auto' if verb == 'create'
                                 else 'unchanged by default'))
    parser.add_argument('--aggregate', metavar='AGGREGATE',
                        help='every host of this Nova aggregate is a member')
    parser.add_argument('--availability-zone', metavar='ZONE',
                        help='every host of this availability zone is a '
                             'member')
    parser.add_argument('--description', metavar='TEXT')
    state = parser.add_mutually_exclusive_group()
    state.add_argument('--enable', dest='enabled', action='store_true',
                       default=None, help='heal inside this segment')
    state.add_argument('--disable', dest='enabled', action='store_false',
                       help='ignore this segment: its hosts heal anywhere')


def _apply_common(doc, args):
    for field in ('recovery_method', 'aggregate', 'availability_zone',
                  'description', 'enabled'):
        value = getattr(args, field)
        if value is None:
            continue
        if field in ('aggregate', 'availability_zone') and not value:
            value = None        # --aggregate '' drops it
        doc[field] = value


class CreateSegment(ShowOne):
    """Create a failover segment: hosts that recover into each other."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='segment name')
        parser.add_argument('--host', dest='hosts', action='append',
                            default=[], metavar='HOST',
                            help='a member compute host (repeat)')
        parser.add_argument('--reserved', dest='reserved_hosts',
                            action='append', default=[], metavar='HOST',
                            help='a reserved host: an idle spare VMR keeps '
                                 'disabled in Nova until a member fails '
                                 '(repeat)')
        _membership_args(parser, 'create')
        return parser

    def take_action(self, parsed_args):
        doc = {'name': parsed_args.name, 'hosts': parsed_args.hosts,
               'reserved_hosts': parsed_args.reserved_hosts}
        _apply_common(doc, parsed_args)
        body = api(self.app).post('/v1/segments', doc)
        return segment_row(body['segment'])


class SetSegment(ShowOne):
    """Change a failover segment: add or remove hosts, make a host a
    reserved spare again, change the recovery method."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='segment name')
        parser.add_argument('--add-host', action='append', default=[],
                            metavar='HOST', help='add a member (repeat)')
        parser.add_argument('--remove-host', action='append', default=[],
                            metavar='HOST',
                            help='remove a member or reserved host (repeat)')
        parser.add_argument('--reserved', action='append', default=[],
                            metavar='HOST',
                            help='make HOST a reserved spare (again); VMR '
                                 'disables it in Nova while idle (repeat)')
        _membership_args(parser, 'set')
        return parser

    def take_action(self, parsed_args):
        client = api(self.app)
        path = '/v1/segments/' + parsed_args.name
        doc = client.get(path)['segment']
        hosts = set(doc.get('hosts') or [])
        reserved = set(doc.get('reserved_hosts') or [])
        unknown = sorted(set(parsed_args.remove_host) - hosts - reserved)
        if unknown:
            raise ApiError('%s is not in segment %s; its hosts: %s' % (
                unknown[0], parsed_args.name,
                ', '.join(sorted(hosts | reserved)) or 'none'))
        both = sorted(set(parsed_args.add_host) & set(parsed_args.reserved))
        if both:
            raise ApiError('%s is given to both --add-host and --reserved; '
                           'a host is a member or a reserved spare' % both[0])
        # a host moves between the lists: an added member is no longer a
        # spare, a spare no longer an ordinary member
        hosts = (hosts | set(parsed_args.add_host)) - set(parsed_args.reserved)
        reserved = (reserved | set(parsed_args.reserved)) - set(
            parsed_args.add_host)
        hosts -= set(parsed_args.remove_host)
        reserved -= set(parsed_args.remove_host)
        doc.update(hosts=sorted(hosts), reserved_hosts=sorted(reserved))
        _apply_common(doc, parsed_args)
        return segment_row(client.put(path, doc)['segment'])


class ListSegments(Lister):
    """List failover segments."""

    def take_action(self, parsed_args):
        docs = api(self.app).get('/v1/segments')['segments']
        rows = []
        for doc in sorted(docs, key=lambda d: d['name']):
            members = list(doc.get('hosts') or [])
            if doc.get('aggregate'):
                members.append('aggregate %s' % doc['aggregate'])
            if doc.get('availability_zone'):
                members.append('zone %s' % doc['availability_zone'])
            rows.append((doc['name'], doc.get('recovery_method'),
                         ', '.join(members),
                         ', '.join(doc.get('reserved_hosts') or []),
                         doc.get('enabled', True)))
        return (('Name', 'Recovery method', 'Members', 'Reserved hosts',
                 'Enabled'), rows)


class ShowSegment(ShowOne):
    """Show one failover segment."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='segment name')
        return parser

    def take_action(self, parsed_args):
        body = api(self.app).get('/v1/segments/' + parsed_args.name)
        return segment_row(body['segment'])


class DeleteSegment(command.Command):
    """Delete one or more failover segments (their hosts then heal
    anywhere; reserved hosts stay disabled until enabled by hand)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('names', nargs='+', metavar='name',
                            help='segment name')
        return parser

    def take_action(self, parsed_args):
        delete_each(self.app, '/v1/segments/', parsed_args.names,
                    'deleted segment %s')
