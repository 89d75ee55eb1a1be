"""``/v1/contracts``: contracts stored in etcd, validated on the way in,
with a dry run that says which servers a contract selects now."""

import json
import logging

import webob

from vmr_common import exceptions
from vmr_common.store import Op
from vmr_coordinator import contracts as contracts_mod
from vmr_coordinator.api import dryrun
from vmr_coordinator.api.resources.base import (
    ResourceBase, api_error, read_json)
from vmr_coordinator.api.routing import truthy

LOG = logging.getLogger(__name__)


class ContractResource(ResourceBase):
    """``/v1/contracts`` and ``/v1/contracts/{name}``."""

    def _parse_contract(self, doc):
        """A validated contract dict (defaults filled); 400 naming the field."""
        try:
            return contracts_mod.parse_contract(doc).to_dict()
        except contracts_mod.ContractError as exc:
            raise api_error(400, str(exc), exc.field or None)

    def _contract_body(self, req):
        content_type = (req.content_type or '').lower()
        if 'yaml' in content_type:
            # parse_contract reads YAML text itself and names bad fields.
            text = req.body.decode('utf-8', 'replace')
            if not text.strip():
                raise api_error(400, 'request body is empty: send a contract')
            return text
        return read_json(req)

    def _matches(self, doc):
        """Which servers the contract selects now (the dry run's answer).

        A cloud that cannot be reached does not fail the validation: the
        answer says so instead.
        """
        try:
            facts = dryrun.cloud_facts(self._cloud())
        except Exception as exc:  # openstacksdk/keystoneauth raise many types
            with self._cloud_lock:
                self._conn = None
            text = exceptions.first_line(exc)
            LOG.info('API: dry run without servers: %s', text)
            return {'checked': False,
                    'error': 'cannot list servers with [cloud] cloud %r: %s'
                             % (self.conf.cloud.cloud, text[:300])}
        result = dryrun.selection(contracts_mod.parse_contract(doc), facts,
                                  contracts_mod.ServiceVmPolicy.from_conf(
                                      self.conf))
        result.update(checked=True, servers=len(facts))
        return result

    def list_contracts(self, req):
        kvs, _rev = self._etcd(self.store.get_prefix, self.keys.contracts)
        out = []
        for kv in kvs:
            try:
                out.append(kv.json())
            except exceptions.CorruptRecord as exc:
                LOG.warning('API: skipping %s', exc)
        return 200, {'contracts': out}

    def create_contract(self, req):
        doc = self._parse_contract(self._contract_body(req))
        if truthy(req.GET.get('dry_run', '')):
            body = {'contract': doc, 'dry_run': True}
            if truthy(req.GET.get('match', '1')):
                body['matches'] = self._matches(doc)
            return 200, body
        key = self.keys.contract(doc['name'])
        if not self._etcd(self.store.create, key, doc):
            raise api_error(409, 'contract %r exists; PUT /v1/contracts/%s to '
                            'replace it' % (doc['name'], doc['name']), 'name')
        LOG.info('API: %s created contract %s', self._who(req), doc['name'])
        resp = webob.Response(status=201, content_type='application/json',
                              charset='utf-8')
        resp.text = json.dumps({'contract': doc}, sort_keys=True)
        resp.location = req.host_url + '/v1/contracts/' + doc['name']
        return resp

    def get_contract(self, req, name):
        kv = self._etcd(self.store.get, self.keys.contract(name))
        if kv is None:
            raise api_error(404, 'no contract named %r' % name)
        return 200, {'contract': self._record(kv)}

    def put_contract(self, req, name):
        body = self._contract_body(req)
        if isinstance(body, dict):
            if body.get('name') is None:
                body = dict(body, name=name)
            elif body['name'] != name:
                raise api_error(400, 'field \'name\' (%r) differs from the URL '
                                '(%r); rename by DELETE and POST'
                                % (body['name'], name), 'name')
        doc = self._parse_contract(body)
        if doc['name'] != name:
            raise api_error(400, 'field \'name\' (%r) differs from the URL (%r)'
                            % (doc['name'], name), 'name')
        key = self.keys.contract(name)
        result = self._etcd(self.store.txn, [], [Op.get(key),
                                                 Op.put(key, doc)])
        existed = bool(result.ranges() and result.ranges()[0])
        LOG.info('API: %s %s contract %s', self._who(req),
                 'replaced' if existed else 'created', name)
        return (200 if existed else 201), {'contract': doc}

    def delete_contract(self, req, name):
        if not self._etcd(self.store.delete, self.keys.contract(name)):
            raise api_error(404, 'no contract named %r' % name)
        LOG.info('API: %s deleted contract %s', self._who(req), name)
        return 204, None
