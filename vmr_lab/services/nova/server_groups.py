"""Server groups: ``os-server-groups`` and their policies.

The scheduler (:mod:`vmr_lab.services.nova.scheduler`) applies the policies.
A part of :class:`vmr_lab.services.nova.NovaAPI`.
"""

import uuid

from vmr_lab.services.base import Fault


class ServerGroups:
    """Server groups of the Nova API (a mixin)."""

    def _group_view(self, req, group):
        view = {'id': group['id'], 'name': group['name'],
                'members': list(group['members'])}
        if self.mv(req, '2.64'):
            view['policy'] = group['policy']
            view['rules'] = dict(group['rules'])
        else:
            view['policies'] = [group['policy']]
            view['metadata'] = {}
        if self.mv(req, '2.13'):
            view['project_id'] = group['project_id']
            view['user_id'] = group['user_id']
        return view

    def list_server_groups(self, req, ctx):
        everyone = req.GET.get('all_projects') is not None
        if everyone:
            self._admin(ctx, 'os_compute_api:os-server-groups:index:'
                             'all_projects')
        with self.state_lock:
            rows = [self._group_view(req, g)
                    for g in self.server_groups.values()
                    if everyone or g['project_id'] == ctx.project_id]
        return 200, {'server_groups': rows}

    def create_server_group(self, req, ctx):
        self._writer(ctx, 'os_compute_api:os-server-groups:create')
        body = self.json_body(req, 'server_group')
        if not body.get('name'):
            raise Fault(400, "Invalid input for field/attribute server_group."
                             " 'name' is a required property")
        if self.mv(req, '2.64'):
            policy = body.get('policy')
        else:
            policies = body.get('policies') or []
            policy = policies[0] if len(policies) == 1 else None
        if policy not in ('affinity', 'anti-affinity', 'soft-affinity',
                          'soft-anti-affinity'):
            raise Fault(400, "Invalid input for field/attribute policy. "
                             "Value: %s. %r is not one of ['anti-affinity', "
                             "'affinity', 'soft-anti-affinity', "
                             "'soft-affinity']" % (policy, policy))
        group = {'id': str(uuid.uuid4()), 'name': body['name'],
                 'policy': policy, 'rules': body.get('rules') or {},
                 'members': [], 'project_id': ctx.project_id,
                 'user_id': ctx.user_id}
        with self.state_lock:
            self.server_groups[group['id']] = group
            return 200, {'server_group': self._group_view(req, group)}

    def _get_group(self, ctx, group_id):
        group = self.server_groups.get(group_id)
        if group is None or (not ctx.is_admin and
                             group['project_id'] != ctx.project_id):
            raise Fault(404, 'Instance group %s could not be found.'
                        % group_id)
        return group

    def show_server_group(self, req, ctx, group_id):
        with self.state_lock:
            return 200, {'server_group': self._group_view(
                req, self._get_group(ctx, group_id))}

    def delete_server_group(self, req, ctx, group_id):
        self._writer(ctx, 'os_compute_api:os-server-groups:delete')
        with self.state_lock:
            self._get_group(ctx, group_id)
            del self.server_groups[group_id]
        return 204, None
