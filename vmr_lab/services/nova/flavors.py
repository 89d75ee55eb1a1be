"""Flavors: listing, showing, creating and deleting them, and extra specs.

A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import uuid

from vmr_lab.services.base import Fault


class Flavors:
    """Flavors of the Nova API (a mixin)."""

    def _flavor_view(self, req, flavor, detail=True):
        href = req.host_url + '/v2.1/flavors/' + flavor['id']
        view = {'id': flavor['id'], 'name': flavor['name'],
                'links': [{'rel': 'self', 'href': href},
                          {'rel': 'bookmark', 'href': href}]}
        if self.mv(req, '2.55'):
            view['description'] = flavor['description']
        if detail:
            view.update({'vcpus': flavor['vcpus'], 'ram': flavor['ram'],
                         'disk': flavor['disk'],
                         'OS-FLV-EXT-DATA:ephemeral': flavor['ephemeral'],
                         'swap': (flavor['swap'] if self.mv(req, '2.75')
                                  else flavor['swap'] or ''),
                         'os-flavor-access:is_public': flavor['is_public'],
                         'OS-FLV-DISABLED:disabled': False})
            if not self.mv(req, '2.75'):
                view['rxtx_factor'] = 1.0
            if self.mv(req, '2.61'):
                view['extra_specs'] = dict(flavor['extra_specs'])
        return view

    def list_flavors(self, req, ctx):
        return 200, {'flavors': [self._flavor_view(req, f, False)
                                 for f in self.flavors.values()]}

    def list_flavors_detail(self, req, ctx):
        return 200, {'flavors': [self._flavor_view(req, f)
                                 for f in self.flavors.values()]}

    def show_flavor(self, req, ctx, flavor_id):
        flavor = self.flavors.get(flavor_id)
        if flavor is None:
            raise Fault(404, 'Flavor %s could not be found.' % flavor_id)
        return 200, {'flavor': self._flavor_view(req, flavor)}

    def flavor_extra_specs(self, req, ctx, flavor_id):
        flavor = self.flavors.get(flavor_id)
        if flavor is None:
            raise Fault(404, 'Flavor %s could not be found.' % flavor_id)
        return 200, {'extra_specs': dict(flavor['extra_specs'])}

    def create_flavor(self, req, ctx):
        self._admin(ctx, 'os_compute_api:os-flavor-manage:create')
        body = self.json_body(req, 'flavor')
        try:
            flavor = {'id': str(body.get('id') or uuid.uuid4()),
                      'name': body['name'], 'vcpus': int(body['vcpus']),
                      'ram': int(body['ram']), 'disk': int(body.get('disk',
                                                                    0)),
                      'ephemeral': int(body.get(
                          'OS-FLV-EXT-DATA:ephemeral', 0)),
                      'swap': int(body.get('swap') or 0),
                      'is_public': bool(body.get('os-flavor-access:is_public',
                                                 True)),
                      'description': body.get('description'),
                      'extra_specs': {}}
        except (KeyError, TypeError, ValueError) as exc:
            raise Fault(400, 'Invalid input for field/attribute flavor: %s'
                        % exc)
        with self.state_lock:
            if flavor['id'] in self.flavors or any(
                    f['name'] == flavor['name']
                    for f in self.flavors.values()):
                raise Fault(409, 'Flavor with name %s already exists.'
                            % flavor['name'])
            self.flavors[flavor['id']] = flavor
        return 200, {'flavor': self._flavor_view(req, flavor)}

    def delete_flavor(self, req, ctx, flavor_id):
        self._admin(ctx, 'os_compute_api:os-flavor-manage:delete')
        with self.state_lock:
            if self.flavors.pop(flavor_id, None) is None:
                raise Fault(404, 'Flavor %s could not be found.' % flavor_id)
        return 202, None
