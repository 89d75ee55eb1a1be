"""``vmr import-masakari``: Masakari's failover segments as VMR segments.

Reads every segment and its hosts from a Masakari API (openstacksdk's
``instance_ha`` proxy, found in the catalog of a clouds.yaml cloud) and
writes one VMR segment per Masakari segment through VMR's API:

* the recovery method carries over as it is (VMR has Masakari's four);
* a host with ``reserved: true`` becomes a reserved host (VMR keeps it
  disabled in Nova with the reason ``vmr: reserved`` while it is idle),
  every other host a member;
* ``enabled`` and the description carry over;
* a host ``on_maintenance`` in Masakari is a member like the others and
  named in the output: maintenance is a property of the host in VMR
  (``vmr host maintenance HOST --on``), not of a segment;
* Masakari's ``service_type`` and each host's ``type`` and
  ``control_attributes`` have no VMR meaning and are dropped.

A VMR segment of the same name is left alone unless ``--replace``; a
Masakari segment without hosts is skipped (a VMR segment needs members);
a segment VMR's API refuses is reported in its row and the others are
still written (exit status 1).
``--dry-run`` prints what would be written.  Nothing is deleted in
Masakari or VMR.
"""

from vmr_client.commands import Lister, api
from vmr_client.commands.segment import METHODS
from vmr_client.errors import ApiError
from vmr_common.models import NAME_RE, NAME_RULE


def _get(obj, *names, default=None):
    """The first of ``names`` an openstacksdk resource (or dict) has."""
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(
            obj, name, None)
        if value is not None:
            return value
    return default


def segment_from_masakari(segment, hosts, rename=None):
    """``(VMR segment document, notes)`` for one Masakari segment and its
    hosts; raises :class:`ApiError` naming what cannot carry over."""
    source = _get(segment, 'name')
    name = (rename or {}).get(source, source)
    if not NAME_RE.match(name or ''):
        raise ApiError('Masakari segment %r cannot be a VMR segment name '
                       '(%s): pass --rename %s=NEW-NAME'
                       % (source, NAME_RULE, source))
    method = _get(segment, 'recovery_method')
    if method not in METHODS:
        raise ApiError('Masakari segment %r has recovery method %r, which '
                       'VMR does not know (it has %s)'
                       % (source, method, ', '.join(METHODS)))
    members, reserved, notes = [], [], []
    for host in hosts:
        host_name = _get(host, 'name')
        (reserved if _get(host, 'reserved', 'is_reserved', default=False)
         else members).append(host_name)
        if _get(host, 'on_maintenance', 'is_on_maintenance', default=False):
            notes.append('%s is on maintenance in Masakari: vmr host '
                         'maintenance %s --on' % (host_name, host_name))
    doc = {'name': name, 'recovery_method': method,
           'enabled': bool(_get(segment, 'enabled', 'is_enabled',
                                default=True)),
           'hosts': sorted(members), 'reserved_hosts': sorted(reserved)}
    description = _get(segment, 'description')
    if description:
        doc['description'] = description
    if method in ('reserved_host', 'rh_priority') and not reserved:
        notes.append('recovery method %s with no reserved host' % method)
    return doc, notes


def _rename_map(pairs):
    out = {}
    for pair in pairs:
        old, sep, new = pair.partition('=')
        if not sep or not old or not new:
            raise ApiError('--rename takes MASAKARI-NAME=VMR-NAME, got %r'
                           % pair)
        out[old] = new
    return out


def _masakari(cloud):
    """An openstacksdk connection to ``cloud``; one line if it fails."""
    import keystoneauth1.exceptions
    import openstack
    import openstack.exceptions
    try:
        conn = openstack.connect(cloud=cloud)
        conn.instance_ha.get_endpoint()
    except (openstack.exceptions.SDKException,
            keystoneauth1.exceptions.ClientException) as exc:
        raise ApiError('cannot reach Masakari through cloud %r: %s (its '
                       'catalog needs an instance-ha endpoint; choose the '
                       'cloud with --masakari-cloud)' % (cloud, exc)) from None
    return conn


def _read(conn):
    """Masakari's segments and ``{segment name: its hosts}``."""
    found = list(conn.instance_ha.segments())
    # Hosts are listed by the segment's uuid (its ``id`` is a number).
    return found, {s.name: list(conn.instance_ha.hosts(s.uuid))
                   for s in found}


class ImportMasakari(Lister):
    """Import failover segments and their hosts from Masakari."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('segments', nargs='*', metavar='SEGMENT',
                            help='Masakari segment names (default: all)')
        parser.add_argument('--masakari-cloud', metavar='CLOUD',
                            help='the clouds.yaml cloud whose catalog has '
                                 'Masakari (default: --os-cloud)')
        parser.add_argument('--rename', action='append', default=[],
                            metavar='MASAKARI-NAME=VMR-NAME',
                            help='write a Masakari segment under another '
                                 'name (VMR names: letters, digits, . _ -; '
                                 'repeat)')
        parser.add_argument('--replace', action='store_true',
                            help='overwrite VMR segments of the same name')
        parser.add_argument('--dry-run', action='store_true',
                            help='print what would be written; write '
                                 'nothing')
        return parser

    def take_action(self, parsed_args):
        options = self.app.options
        # vmr's --os-cloud, or openstackclient's (``openstack vmr ...``)
        cloud = parsed_args.masakari_cloud or getattr(
            options, 'os_cloud', None) or getattr(options, 'cloud', None)
        if not cloud:
            raise ApiError('no cloud to read Masakari from: pass '
                           '--masakari-cloud CLOUD (a clouds.yaml entry)')
        rename = _rename_map(parsed_args.rename)
        conn = _masakari(cloud)
        try:
            found, hosts = _read(conn)
        except Exception as exc:  # openstacksdk's and keystoneauth's types
            raise ApiError('reading Masakari through cloud %r failed: %s'
                           % (cloud, exc)) from None
        wanted = set(parsed_args.segments)
        missing = sorted(wanted - {s.name for s in found})
        if missing:
            raise ApiError('no Masakari segment %s; Masakari has: %s' % (
                missing[0], ', '.join(sorted(s.name for s in found))
                or 'none'))
        # Every segment is checked before anything is written.
        plans = [segment_from_masakari(s, hosts[s.name], rename)
                 for s in sorted(found, key=lambda s: s.name)
                 if not wanted or s.name in wanted]
        client = None if parsed_args.dry_run else api(self.app)
        existing = set() if client is None else {
            d['name'] for d in client.get('/v1/segments')['segments']}
        rows = []
        self._failed = False
        for doc, notes in plans:
            if not doc['hosts'] and not doc['reserved_hosts']:
                # Masakari keeps empty segments; a VMR segment needs members
                outcome = 'skipped: no hosts in Masakari'
            elif client is None:
                outcome = 'would write'
            elif doc['name'] in existing and not parsed_args.replace:
                outcome = 'exists (kept; --replace overwrites)'
            else:
                outcome = self._write(client, doc, doc['name'] in existing)
            rows.append((doc['name'], outcome, doc['recovery_method'],
                         ', '.join(doc['hosts']),
                         ', '.join(doc['reserved_hosts']), doc['enabled'],
                         '; '.join(notes)))
        return (('Segment', 'Result', 'Recovery method', 'Members',
                 'Reserved hosts', 'Enabled', 'Notes'), rows)

    def _write(self, client, doc, exists):
        """Create or replace one segment; a refusal is that segment's
        result (the others are still written) and the exit status 1."""
        try:
            if exists:
                client.put('/v1/segments/' + doc['name'], doc)
                return 'replaced'
            client.post('/v1/segments', doc)
            return 'created'
        except ApiError as exc:
            self._failed = True
            return 'refused: %s' % exc

    def run(self, parsed_args):
        status = super().run(parsed_args)
        return status or (1 if getattr(self, '_failed', False) else 0)
