"""``boot_from_snapshot``: replace a server of a fenced host with a new one.

For servers on local disks that cannot be evacuated: boot the newest
snapshot (or a named image) with the same name, flavor, metadata, key
name, user data, security groups, networks and availability zone, move the
data volumes and floating IPs over, then delete the dead server's record.

The replacement is booted in the old server's project (``boot_as:
owner``, the default) so that its owner still sees it, its quota is
charged there and Nova finds the project's security groups: VMR's user
gets a token scoped to that project with its own credentials, which
Keystone grants only when the user holds a role there (``member`` is
enough). Without one the action fails saying which ``openstack role add``
fixes it; ``boot_as: vmr`` boots in VMR's own project instead, as VMR did
before. Everything else (listing all projects, moving volumes and floating
IPs, deleting the old record) stays on VMR's admin connection.
Nova takes a key name only from the calling user's key pairs: when VMR's
user has none of that name with the same key, the replacement boots
without it and the result says so in a ``warning:`` (the key is in the
snapshot's disk anyway) rather than the recovery failing.
Every stage checks first whether it is already done, so a new leader
resumes where the old one stopped:

* the replacement is the server carrying metadata ``vmr_replaces=<old id>``
  (never a second boot);
* a volume on its way carries volume metadata ``vmr_replacement=<new id>``
  from before it is detached, so it is found again even once the dead
  server no longer lists it;
* floating IPs still on the dead server's ports are the ones to move.

Real Nova detaches a volume only through the server's host: while that
nova-compute service is down (and after a fence it is forced down) it
answers the detach with 409 "Service is unavailable at this time.".  What
frees the volumes of a server on a dead host is deleting the server: Nova
then deletes it locally and deletes its Cinder attachments itself (and the
volumes marked ``delete_on_termination``).  So on a down host the volumes
are marked, their ``delete_on_termination`` turned off (microversion 2.85,
a database change Nova makes without the host), the floating IPs moved,
the old server deleted, and only then are the volumes attached to the
replacement.
"""

import datetime
import logging
import re

import openstack
from keystoneauth1 import exceptions as ksa_exceptions

from vmr_coordinator.actions import base, evidence
from vmr_coordinator.actions.takeover import TakeOver

LOG = logging.getLogger(__name__)

REPLACES_KEY = 'vmr_replaces'
NEWEST = 'newest_snapshot'
BOOT_AS_OWNER = 'owner'
BOOT_AS_VMR = 'vmr'


def _keypair_or_none(compute, name, user_id=None):
    """The key pair ``name`` of ``user_id`` (default: the caller) or None.

    None too when policy does not let VMR's user read another user's key
    pairs: then VMR cannot tell whether its own key pair is the same.
    """
    def fetch():
        try:
            return compute.get_keypair(name, user_id=user_id)
        except (openstack.exceptions.NotFoundException,
                openstack.exceptions.ForbiddenException):
            return None
    return base.call(fetch)


def _server_or_none(compute, server_id):
    """The server, or None once Nova no longer knows it."""
    def fetch():
        try:
            return compute.get_server(server_id)
        except openstack.exceptions.NotFoundException:
            return None
    return base.call(fetch)


class BootFromSnapshot(TakeOver, evidence.RecordedAction):
    """Boot a replacement, move volumes and floating IPs, delete the old.

    Goal: an ACTIVE server with metadata ``vmr_replaces=<old id>`` holds the
    old server's data volumes (``reattach_volumes``) and floating IPs
    (``move_floating_ips``), and the old record is gone (``delete_old``;
    kept while volumes are still attached to it, which only happens with
    ``reattach_volumes: false`` or a boot-from-volume root disk).
    Runs only after a verified fence: the replacement takes over the
    volumes and addresses of a server that must not run any more.
    Param ``boot_as`` (``owner``, the default, or ``vmr``) picks the
    project the replacement is booted in.
    """

    name = 'boot_from_snapshot'
    needs_fence = True
    #: what the last run did differently from the old server, and why
    warnings = ()

    def heal(self, ctx):
        self.warnings = []
        compute = ctx.conn.compute
        sid = ctx.server.id
        old = _server_or_none(compute, sid)
        reattach = self.params.get('reattach_volumes', True)
        if reattach and old is not None:
            # Before anything is booted or marked.
            self._check_volumes_can_move(compute, old)
        new = self._replacement(compute, ctx.server)
        done = []
        if new is None:
            if old is None:
                raise base.ActionError(
                    'server %s is gone and no server has metadata %s=%s: '
                    'nothing to replace it from' % (sid, REPLACES_KEY, sid))
            new, image, project = self._boot(ctx, old)
            done.append('booted %s from %s%s' % (
                new.id, image, ' in project %s' % project if project else ''))
        else:
            foreign = new.project_id and \
                new.project_id != ctx.conn.current_project_id
            done.append('found replacement %s%s' % (
                new.id, ' in project %s' % new.project_id if foreign else ''))
            if old is not None and old.key_name and not new.key_name:
                # A resumed step says again what the first attempt chose.
                self.warnings.append(
                    'replacement %s was booted without key pair %r of %s'
                    % (new.id, old.key_name, old.id))
        new = self.wait(ctx, lambda: self._active(compute, new.id),
                        'replacement %s of %s to be ACTIVE' % (new.id, sid))

        held = []
        if reattach and old is not None:
            held = self._release_volumes(ctx, old, new)
        if self.params.get('move_floating_ips', True) and old is not None:
            moved = self._move_fips(ctx, old, new)
            if moved:
                done.append('floating IPs %s' % ', '.join(moved))
        if old is not None and self.params.get('delete_old', True):
            done.append(self._delete_old(ctx, old, held))
        if reattach:
            moved = self._move_volumes(ctx, new)
            if moved:
                done.append('volumes %s' % ', '.join(moved))
        for warning in self.warnings:
            LOG.warning('%s: %s', sid, warning)
        done.extend('warning: %s' % w for w in self.warnings)
        return 'replaced by %s (%s) on %s: %s' % (
            new.name, new.id, new.compute_host, '; '.join(done))

    # -- the replacement -----------------------------------------------------
    @staticmethod
    def _replacement(compute, facts):
        pattern = '^%s$' % re.escape(facts.name) if facts.name else None
        query = {'details': True, 'all_projects': True}
        if pattern:
            query['name'] = pattern
        found = [s for s in base.call(lambda: list(compute.servers(**query)))
                 if (s.metadata or {}).get(REPLACES_KEY) == facts.id]
        found.sort(key=lambda s: (s.status == 'ERROR', s.created_at or ''))
        return found[0] if found else None

    def _boot(self, ctx, old):
        """Boot the replacement of ``old``: (server, image text, project).

        ``project`` describes the project it was booted in when that is not
        VMR's own, else None.
        """
        boot_conn, project = self._boot_connection(ctx, old)
        try:
            # Another Connection, another HTTP session: hook it too, or the
            # boot's request id would be missing from the step.
            with evidence.collect(boot_conn, self.request_ids):
                new, image = self._create(ctx, old, boot_conn.compute)
        finally:
            if boot_conn is not ctx.conn:
                boot_conn.close()
        return new, image, project

    def _boot_connection(self, ctx, old):
        """The connection to boot with and the project text (or None).

        VMR's own one with ``boot_as: vmr`` or when ``old`` is in VMR's
        project; else one with the same credentials scoped to the owner's
        project, authenticated here so that a missing role assignment is
        one clear error before anything is booted.
        """
        mine = ctx.conn.current_project_id
        owner = old.project_id
        if self.params.get('boot_as', BOOT_AS_OWNER) == BOOT_AS_VMR or \
                not owner or owner == mine:
            return ctx.conn, None
        name = self._project_name(ctx.conn, owner)
        project = '%s (%s)' % (owner, name) if name else owner
        scoped = ctx.conn.connect_as(project_id=owner)
        try:
            scoped.session.get_token()
        except ksa_exceptions.Unauthorized:
            scoped.close()
            user_id = ctx.conn.current_user_id
            name = self._user_name(ctx.conn)
            user = '%s (%s)' % (user_id, name) if name else user_id
            raise base.ActionError(
                "VMR's user %s cannot act in project %s, the project of "
                'server %s: Keystone refuses it a token scoped there (no '
                'role assignment); run `openstack role add --user %s '
                '--project %s member`, or set boot_as: vmr in the contract '
                "to boot the replacement in VMR's own project" % (
                    user, project, old.id, user_id, owner))
        except ksa_exceptions.ClientException as exc:
            scoped.close()
            # Keystone unreachable or failing: worth another attempt. The
            # message is keystoneauth's own, without credentials.
            raise base.RetryableError(
                'cannot get a token scoped to project %s: %s'
                % (project, str(exc).splitlines()[0]))
        return scoped, project

    @staticmethod
    def _project_name(conn, project_id):
        """The name of ``project_id``, or None when VMR may not read it."""
        try:
            return conn.identity.get_project(project_id).name
        except openstack.exceptions.SDKException:
            return None

    @staticmethod
    def _user_name(conn):
        """The name of VMR's user as its token says, or None."""
        try:
            return conn.session.auth.get_access(conn.session).username
        except ksa_exceptions.ClientException:
            return None

    def _create(self, ctx, old, compute):
        """Boot a copy of ``old`` through ``compute``, the boot connection's
        compute proxy; the reads around it stay on VMR's admin connection."""
        admin = ctx.conn.compute
        image = self._image(ctx, old)
        flavor_ref = getattr(old.flavor, 'original_name', None) or \
            getattr(old.flavor, 'name', None) or old.flavor.id
        flavor = base.call(admin.find_flavor, flavor_ref,
                           ignore_missing=True)
        if flavor is None:
            raise base.ActionError('flavor %r of server %s no longer exists'
                                   % (flavor_ref, old.id))
        metadata = dict(old.metadata or {})
        metadata[REPLACES_KEY] = old.id
        # A cloud without Neutron (Nova with networks 'none' only) has no
        # ports to copy.
        ports = (self._ports(ctx.conn.network, old.id)
                 if ctx.conn.has_service('network') else [])
        networks = [{'uuid': p.network_id} for p in ports] or 'none'
        attrs = {'name': old.name, 'image_id': image.id,
                 'flavor_id': flavor.id, 'networks': networks,
                 'metadata': metadata}
        if old.availability_zone:
            attrs['availability_zone'] = old.availability_zone
        if old.key_name:
            # Key pairs belong to users, not projects: the boot connection
            # is VMR's user in either project, and only its admin token
            # may read the owner's key pair to compare.
            problem = self._key_pair_problem(ctx, old)
            if problem is None:
                attrs['key_name'] = old.key_name
            else:
                # Nova would refuse the boot (400 "Invalid key_name
                # provided"): recover the server without the name instead.
                self.warnings.append(
                    'booted without key pair %r of %s (owner %s): %s; Nova '
                    'takes only key pairs of the calling user. The key is '
                    'still in the snapshot\'s disk, only its injection '
                    'through the metadata service is lost' % (
                        old.key_name, old.id, old.user_id, problem))
        if getattr(old, 'user_data', None):
            # Nova shows it (admin, >= 2.3) base64-encoded, as it takes it.
            attrs['user_data'] = old.user_data
        groups = self._security_groups(ports)
        if groups:
            attrs['security_groups'] = groups
        group = self._server_group(admin, old.id)
        if group is not None:
            attrs['scheduler_hints'] = {'group': group}
        new = self._create_on(compute, attrs, self.params.get('target_host'))
        return new, '%s (%s)' % (image.name, image.id)

    def _create_on(self, compute, attrs, host):
        """Boot on ``host`` when one is asked for (microversion 2.74's
        ``host``; Nova's scheduler still checks it); when Nova refuses this
        connection a requested host (an admin-only policy, and the boot
        connection may be scoped to the owner's project), boot where the
        scheduler chooses and say so."""
        if not host:
            return base.call(compute.create_server, **attrs)
        pinned = dict(attrs, host=host)
        pinned.pop('availability_zone', None)   # the host decides
        try:
            return base.call(compute.create_server, **pinned)
        except base.ActionError as exc:
            if not str(exc).startswith('HTTP 403'):
                raise
            self.warnings.append(
                'not booted on %s as asked: Nova refuses this connection a '
                'requested host (%s; it needs the admin role in the project '
                'the replacement boots in, or boot_as: vmr); booted where '
                "Nova's scheduler chose" % (host, exc))
        return base.call(compute.create_server, **attrs)

    @staticmethod
    def _key_pair_problem(ctx, old):
        """Why VMR's user cannot boot with ``old.key_name``, or None.

        Nova looks ``key_name`` up among the calling user's key pairs only.
        A key pair of that name of VMR's own user is the old one when VMR's
        user booted the old server; otherwise it must have the fingerprint
        of the owner's key pair (admins read it with ``user_id``), or VMR
        would hand somebody else's server its own key.
        """
        compute = ctx.conn.compute
        me = ctx.conn.current_user_id
        mine = _keypair_or_none(compute, old.key_name)
        if mine is None:
            return "VMR's user %s has no key pair of that name" % me
        if not old.user_id or old.user_id == me:
            return None
        theirs = _keypair_or_none(compute, old.key_name, old.user_id)
        if theirs is None:
            return ("VMR's user %s cannot read the owner's key pair to "
                    "tell whether its own one of that name is the same key"
                    % me)
        if theirs.fingerprint != mine.fingerprint:
            return ("the key pair of that name of VMR's user %s holds "
                    "another key (%s, not %s)"
                    % (me, mine.fingerprint, theirs.fingerprint))
        return None

    @staticmethod
    def _security_groups(ports):
        """``[{'name': <id>}]`` of the groups on the old server's ports.

        Ids, not the names Nova shows: names need not be unique in a
        project, and Nova accepts an id where it takes a name. Nova gives
        every port it creates the same groups, so a server whose ports had
        different groups gets all of them on each port.
        """
        ids = []
        for port in ports:
            for sg_id in port.security_group_ids or ():
                if sg_id not in ids:
                    ids.append(sg_id)
        return [{'name': sg_id} for sg_id in ids]

    def _image(self, ctx, old):
        images = ctx.conn.image
        wanted = self.params.get('image', NEWEST)
        if wanted != NEWEST:
            image = base.call(images.find_image, wanted, ignore_missing=True)
            if image is None or image.status != 'active':
                raise base.ActionError('image %r is %s' % (
                    wanted, 'not found' if image is None else image.status))
            return image
        snapshots = [i for i in base.call(lambda: list(images.images(
            instance_uuid=old.id, status='active')))
            if getattr(i, 'instance_uuid', None) == old.id]
        if not snapshots:
            raise base.ActionError(
                'server %s has no active snapshot (Glance image with '
                'instance_uuid=%s); snapshot it regularly or name an image '
                'in the contract' % (old.id, old.id))
        newest = max(snapshots, key=lambda i: (i.created_at or '', i.id))
        limit = self.params.get('max_snapshot_age')
        if limit:
            made = datetime.datetime.fromisoformat(newest.created_at)
            if made.tzinfo is None:
                made = made.replace(tzinfo=datetime.timezone.utc)
            age = (datetime.datetime.now(datetime.timezone.utc) -
                   made).total_seconds()
            if age > limit:
                raise base.ActionError(
                    'the newest snapshot of %s (%s, %s) is %d s old, more '
                    'than max_snapshot_age %d' % (old.id, newest.name,
                                                  newest.id, age, limit))
        return newest

    @staticmethod
    def _server_group(compute, server_id):
        try:
            groups = list(compute.server_groups(all_projects=True))
        except openstack.exceptions.SDKException:
            return None   # no policy to list groups: boot without the hint
        for group in groups:
            if server_id in (group.member_ids or ()):
                return group.id
        return None

    def _active(self, compute, sid):
        server = base.call(compute.get_server, sid)
        if server.status == 'ERROR':
            fault = getattr(server, 'fault', None)
            # An ERROR replacement would be found again forever: remove it
            # so that the retry boots a fresh one.
            base.call(compute.delete_server, sid)
            raise base.RetryableError('replacement %s went to ERROR (%s); '
                                      'deleted it for the retry'
                                      % (sid, fault))
        return server if server.status == 'ACTIVE' and \
            not server.task_state else None

    # -- the old server ------------------------------------------------------
    def _delete_old(self, ctx, old, held):
        """Delete ``old`` unless a volume would go with it; the result text.

        ``held``: the volumes being moved that only this deletion frees
        (their ``delete_on_termination`` is already off).
        """
        compute = ctx.conn.compute
        kept = [a.volume_id for a in base.call(
            lambda: list(compute.volume_attachments(old)))
            if a.volume_id not in held]
        if kept:
            # Deleting it would take volumes marked
            # delete_on_termination with it: data loss, never "safe".
            return 'kept %s: volumes %s still attached to it' % (
                old.id, ', '.join(kept))
        base.call(compute.delete_server, old.id)
        self.wait(ctx, lambda: _server_or_none(compute, old.id) is None,
                  'the old server %s to be deleted' % old.id)
        return 'deleted %s' % old.id
