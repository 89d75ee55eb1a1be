"""``vmr contract create|list|show|delete|validate``."""

import sys

import yaml
from cliff import command, lister, show

from vmr_client import render
from vmr_client.errors import ApiError
from vmr_client.commands import api, delete_each

FIELDS = ('name', 'description', 'priority', 'enabled', 'trigger',
          'selector', 'action', 'on_failure', 'limits')
NESTED = ('trigger', 'selector', 'action', 'on_failure', 'limits')


def read_document(path):
    """``(text, name)`` of the contract file (``-``: stdin).

    The text goes to the API as YAML (JSON is YAML too): the server's
    validator reads it and names bad fields. The name is read here only to
    build the URL of a replace.
    """
    try:
        if path == '-':
            text = sys.stdin.read()
        else:
            with open(path, encoding='utf-8') as f:
                text = f.read()
    except OSError as exc:
        raise ApiError('cannot read %s: %s' % (path, exc.strerror or exc))
    except UnicodeDecodeError as exc:
        raise ApiError('%s is not UTF-8 text: %s' % (path, exc))
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ApiError('%s is not valid YAML or JSON: %s'
                       % (path, str(exc).replace('\n', ' ')))
    if len(docs) != 1:
        raise ApiError('%s holds %d documents; give one contract per file'
                       % (path, len(docs)))
    doc = docs[0]
    name = doc.get('name') if isinstance(doc, dict) else None
    return text, name


def contract_row(doc):
    """``(columns, values)`` of one contract for ShowOne."""
    values = []
    for field in FIELDS:
        value = doc.get(field)
        values.append(render.JsonColumn(value) if field in NESTED else value)
    return FIELDS, values


class CreateContract(show.ShowOne):
    """Create a contract from a YAML or JSON file (validated by the API)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('file', help='contract file (YAML or JSON; '
                                         '- for stdin)')
        parser.add_argument('--replace', action='store_true',
                            help='replace the contract of the same name if '
                                 'it exists')
        parser.add_argument('--dry-run', action='store_true',
                            help='only validate; store nothing')
        return parser

    def take_action(self, parsed_args):
        client = api(self.app)
        text, name = read_document(parsed_args.file)
        kw = {'raw': text.encode('utf-8'), 'content_type': 'application/yaml'}
        if parsed_args.dry_run:
            body = client.request('POST', '/v1/contracts',
                                  params={'dry_run': '1'}, **kw)[1]
            return with_matches(contract_row(body['contract']),
                                body.get('matches'))
        elif parsed_args.replace:
            if not isinstance(name, str) or not name:
                raise ApiError('%s has no name field; --replace needs it'
                               % parsed_args.file)
            body = client.request('PUT', '/v1/contracts/' + name, **kw)[1]
        else:
            body = client.request('POST', '/v1/contracts', **kw)[1]
        return contract_row(body['contract'])


class ValidateContract(show.ShowOne):
    """Validate a contract file: show it with every default filled in and
    the servers it would select now."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('file', help='contract file (YAML or JSON; '
                                         '- for stdin)')
        return parser

    def take_action(self, parsed_args):
        text, _name = read_document(parsed_args.file)
        body = api(self.app).request(
            'POST', '/v1/contracts', params={'dry_run': '1'},
            raw=text.encode('utf-8'), content_type='application/yaml')[1]
        return with_matches(contract_row(body['contract']),
                            body.get('matches'))


def with_matches(row, matches):
    """Add what the dry run found in the cloud to a contract row."""
    if matches is None:
        return row
    fields, values = list(row[0]), list(row[1])
    if matches.get('checked'):
        fields += ['selected_servers', 'skipped_servers']
        values += [
            render.ServerListColumn(matches.get('selected') or []),
            render.ServerListColumn(matches.get('skipped') or [])]
    else:
        fields.append('servers')
        values.append('not checked: %s' % matches.get('error'))
    return tuple(fields), tuple(values)


class ListContracts(lister.Lister):
    """List contracts, highest priority first."""

    def take_action(self, parsed_args):
        docs = api(self.app).get('/v1/contracts')['contracts']
        docs.sort(key=lambda d: (-int(d.get('priority', 0)), d['name']))
        rows = []
        for doc in docs:
            rows.append((
                doc['name'], (doc.get('trigger') or {}).get('type'),
                (doc.get('action') or {}).get('type'),
                ' -> '.join(r.get('type', '?')
                            for r in doc.get('on_failure') or []),
                doc.get('priority'), doc.get('enabled', True),
                render.JsonColumn({k: v for k, v in (doc.get(
                    'selector') or {}).items()
                    if k != 'include_service_vms' or v})))
        return (('Name', 'Trigger', 'Action', 'On failure', 'Priority',
                 'Enabled', 'Selector'), rows)


class ShowContract(show.ShowOne):
    """Show one contract."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='contract name')
        return parser

    def take_action(self, parsed_args):
        body = api(self.app).get('/v1/contracts/' + parsed_args.name)
        return contract_row(body['contract'])


class DeleteContract(command.Command):
    """Delete one or more contracts."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('names', nargs='+', metavar='name',
                            help='contract name')
        return parser

    def take_action(self, parsed_args):
        delete_each(self.app, '/v1/contracts/', parsed_args.names,
                    'deleted contract %s')
