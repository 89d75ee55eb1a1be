"""Preflight: prove the fence path, the cloud and the contracts before an outage.

``vmr-coordinator --check`` runs :func:`problems` once and prints them; a
running coordinator runs the same checks at start and every
``[coordinator] preflight_interval`` (:class:`PreflightMonitor`) and shows
the result in ``/v1/status`` (``vmr status``), so a coordinator that could
not fence or could not reach Nova says so while nothing is failing.

Every problem is one sentence naming the thing and the fix.  Nothing here
changes anything: fence profiles are loaded (not run), the cloud is asked
for a token and Nova's version document, contracts' references are looked
up.
"""

import logging
import re
import threading
import time

from vmr_common import exceptions

LOG = logging.getLogger(__name__)

#: the role VMR's cloud user needs: evacuate, force-down, every project
NEEDED_ROLE = 'admin'


def known_hosts(store, group):
    """Host names VMR knows in etcd: host records and live agents."""
    hosts = set()
    kvs, _rev = store.get_prefix(store.keys.hosts)
    hosts.update(store.keys.name_in(store.keys.hosts, kv.key) for kv in kvs)
    prefix = store.keys.group(group)
    kvs, _rev = store.get_prefix(prefix)
    hosts.update(kv.key[len(prefix):] for kv in kvs)
    return {h for h in hosts if h and '/' not in h}


def fence_problems(conf, hosts=()):
    """Problems of the fence profiles file and of every host's ladder.

    ``hosts`` are the hosts known elsewhere (etcd): each must resolve to a
    ladder whose fencers all load with the host's options.
    """
    from vmr_coordinator.fencing import base
    from vmr_coordinator.fencing.profiles import FenceProfiles
    # an unknown driver's message lists the installed fencers and suggests
    # the closest (vmr_coordinator.plugins)
    try:
        profiles = FenceProfiles.load(conf.fencing.profiles_file)
    except base.FenceConfigError as exc:
        return [str(exc)]
    problems = list(profiles.validate(conf))
    # validate() loaded the rungs of every host listed by name; the others
    # (matched by a pattern or the default profile) get their options here
    listed = {host for profile in profiles.profiles.values()
              for host, _overrides in profile.hosts
              if not set('*?[') & set(host)}
    for host in sorted(set(hosts) - listed):
        if profiles.match(host) is None:
            problems.append(
                "host %s (known in etcd) has no fence profile in %s: list it "
                "under a profile's hosts or add a 'default' profile"
                % (host, conf.fencing.profiles_file))
            continue
        profile = profiles.profile_for(host)
        for rung in profile.ladder + profile.post:
            try:
                base.load_fencer(rung.driver, rung.options, conf,
                                 context='%s, host %s' % (
                                     profile.context(rung), host))
            except base.FenceConfigError as exc:
                problems.append(str(exc))
    return list(dict.fromkeys(problems))


def cloud_problems(conf):
    """Can VMR get a token, is Nova there at the pinned microversion, and
    does the cloud user have the role VMR needs?  ``(problems, conn)``;
    ``conn`` is None when no connection could be made."""
    from openstack import utils as sdk_utils

    from vmr_coordinator import cloud
    name = conf.cloud.cloud
    try:
        conn = cloud.connect(conf)
    except cloud.CloudError as exc:
        return [str(exc)], None
    try:
        conn.authorize()
    except Exception as exc:  # keystoneauth raises many types
        return ['cannot get a token for [cloud] cloud %r: %s; check the '
                'credentials and auth_url in clouds.yaml'
                % (name, exceptions.first_line(exc, 300))], None
    problems = []
    try:
        roles = set(conn.session.auth.get_access(conn.session).role_names)
    except Exception:  # not every auth plugin exposes its roles
        roles = None
    if roles is not None and NEEDED_ROLE not in roles:
        problems.append(
            '[cloud] cloud %r: its user has the roles %s but VMR needs %r '
            '(evacuate, force-down and every project\'s servers); grant it '
            'with openstack role add' % (name, ', '.join(sorted(roles))
                                         or 'none', NEEDED_ROLE))
    pinned = conf.cloud.compute_microversion
    try:
        supported = sdk_utils.supports_microversion(conn.compute, pinned)
    except Exception as exc:  # no endpoint, refused, unreachable
        # openstacksdk refuses a default microversion Nova lacks by itself
        found = _RANGE.search(str(exc))
        if found:
            problems.append(_unsupported(pinned, *found.groups()))
        else:
            problems.append('Nova cannot be reached with [cloud] cloud %r: '
                            '%s; check the compute endpoint in the catalog'
                            % (name, exceptions.first_line(exc, 300)))
    else:
        if not supported:
            problems.append(_unsupported(pinned, None, None))
    return problems, conn


_RANGE = re.compile(r'minimum of ([0-9]+[.][0-9]+) and a maximum of '
                    r'([0-9]+[.][0-9]+)')


def _unsupported(pinned, low, high):
    return ('Nova does not support the pinned microversion %s ([cloud] '
            'compute_microversion)%s: set one Nova offers (VMR needs >= '
            '2.53)' % (pinned, ', it offers %s to %s' % (low, high)
                       if high else ''))


def api_problems(conf):
    """Can the API validate tokens?  With ``[api] auth_strategy =
    keystone``, ``[keystone_authtoken]`` must name a service user that
    gets a token from Keystone."""
    if not conf.api.enabled or conf.api.auth_strategy != 'keystone':
        return []
    from vmr_coordinator.api import authconf
    try:
        authconf.check_auth_config(conf)
    except exceptions.ConfigError as exc:
        return [str(exc)]
    from keystoneauth1 import loading
    from keystoneauth1 import session as ks_session
    try:
        auth = loading.load_auth_from_conf_options(conf, 'keystone_authtoken')
        ks_session.Session(auth=auth).get_token()
    except Exception as exc:  # keystoneauth raises many types
        return ['the API cannot validate tokens: [keystone_authtoken]\'s '
                'service user gets no token: %s; check its auth_url, '
                'username, password, project and domains' % exceptions.first_line(exc, 300)]
    return []


def _find(finder, ref):
    try:
        return finder(ref, ignore_missing=True)
    except Exception as exc:  # a name matching several, or no service
        return exc


def contract_problems(conf, contracts, conn=None):
    """Problems of what parsed ``contracts`` name: images, pools,
    workflows in the cloud (when ``conn``) and ``secret_ref`` in
    ``[actions] secrets_file``."""
    from vmr_coordinator.actions.boot_from_snapshot import NEWEST as newest
    problems = []
    secrets = None
    for contract in contracts:
        specs = (contract.action,) + tuple(contract.on_failure)
        for spec in specs:
            params = spec.params or {}
            where = 'contract %s, action %s' % (contract.name, spec.type)
            if spec.type == 'webhook' and params.get('secret_ref'):
                if secrets is None:
                    secrets = _secrets(conf)
                if isinstance(secrets, str):
                    problems.append('%s: %s' % (where, secrets))
                elif params['secret_ref'] not in secrets:
                    problems.append(
                        '%s: secret_ref %r is not under secrets: in %s; add '
                        'it there' % (where, params['secret_ref'],
                                      conf.actions.secrets_file))
            if conn is None:
                continue
            lookups = []
            if spec.type in ('rebuild', 'boot_from_snapshot') and \
                    params.get('image') and not (
                        spec.type == 'boot_from_snapshot' and
                        params['image'] == newest):
                # 'newest_snapshot' is resolved per server at heal time
                lookups.append(('image', 'Glance image',
                                conn.image.find_image))
            if spec.type == 'lb_failover' and params.get('pool'):
                lookups.append(('pool', 'Octavia pool',
                                conn.load_balancer.find_pool))
            if spec.type == 'mistral' and params.get('workflow'):
                lookups.append(('workflow', 'Mistral workflow',
                                conn.workflow.find_workflow))
            for field, what, finder in lookups:
                found = _find(finder, params[field])
                if found is None:
                    problems.append('%s: %s %r not found; fix params.%s or '
                                    'create it' % (where, what, params[field],
                                                   field))
                elif isinstance(found, Exception):
                    problems.append('%s: cannot look up %s %r: %s' % (
                        where, what, params[field], exceptions.first_line(found, 300)))
    return problems


def _secrets(conf):
    """The names in ``[actions] secrets_file``, or a sentence why not."""
    from vmr_coordinator.actions import webhook
    try:
        return set(webhook.load_secrets(conf.actions.secrets_file))
    except exceptions.VmrError as exc:
        return str(exc)
    except Exception as exc:  # an unreadable file
        return 'cannot read [actions] secrets_file %s: %s' % (
            conf.actions.secrets_file, exceptions.first_line(exc, 300))


def stored_contracts(store):
    """``(valid contracts, one sentence per invalid one)`` from etcd."""
    from vmr_coordinator import contracts as contracts_mod
    kvs, _rev = store.get_prefix(store.keys.contracts)
    out, invalid = [], []
    for kv in kvs:
        try:
            out.append(contracts_mod.parse_contract(kv.json()))
        except (exceptions.CorruptRecord, contracts_mod.ContractError) as exc:
            invalid.append('%s is ignored by the leader: %s; fix it with vmr '
                           'contract update (or delete it)'
                           % (kv.key, exceptions.first_line(exc, 300)))
    return out, invalid


def problems(conf, store=None):
    """Every preflight problem of a coordinator's setup, one sentence each:
    etcd, the fence path of every known host, the cloud, the contracts,
    the API's token validation, the message bus of [notifications]."""
    from vmr_common.store import Store
    store = store or Store.from_conf(conf)
    found = []
    hosts, contracts = (), []
    try:
        hosts = known_hosts(store, conf.heartbeat.group)
        contracts, invalid = stored_contracts(store)
        found.extend(invalid)
    except exceptions.StoreError as exc:
        # the store's message names the endpoints and what to check
        found.append(exceptions.first_line(exc))
    found.extend(fence_problems(conf, hosts))
    cloud_found, conn = cloud_problems(conf)
    found.extend(cloud_found)
    found.extend(contract_problems(conf, contracts, conn))
    found.extend(api_problems(conf))
    from vmr_coordinator import notifications
    found.extend(notifications.problems(conf.notifications))
    if conn is not None:
        conn.close()
    return found


def preflight_view(coordinator):
    """What ``/v1/status`` shows of ``coordinator``'s last preflight."""
    monitor = getattr(coordinator, 'preflight', None)
    if monitor is None:
        return {'ready': None, 'problems': [], 'checked_at': None}
    return monitor.state


class PreflightMonitor:
    """Runs :func:`problems` in a thread at start and every ``interval``
    seconds; the API reads :attr:`state`.

    A problem that appears is logged at ERROR, one that is fixed at INFO.
    """

    def __init__(self, conf, store, interval, check=problems):
        self.conf = conf
        self.store = store
        self.interval = interval
        self.check = check
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()
        self._state = {'ready': None, 'problems': [], 'checked_at': None}

    @property
    def state(self):
        """``{'ready': bool or None (not checked yet), 'problems': [...],
        'checked_at': epoch seconds}``."""
        with self._lock:
            return dict(self._state, problems=list(self._state['problems']))

    def run_once(self):
        """Check now; returns the problems."""
        try:
            found = self.check(self.conf, self.store)
        except Exception as exc:  # a bug in a check must not stop the loop
            LOG.exception('preflight check failed')
            found = ['the preflight check itself failed: %s'
                     % exceptions.first_line(exc, 300)]
        with self._lock:
            before = set(self._state['problems'])
            self._state = {'ready': not found, 'problems': list(found),
                           'checked_at': time.time()}
        for problem in found:
            if problem not in before:
                LOG.error('preflight: not ready: %s', problem)
        for problem in sorted(before - set(found)):
            LOG.info('preflight: fixed: %s', problem)
        if not found and before:
            LOG.info('preflight: ready, no problem left')
        return found

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='vmr-preflight')
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.run_once()
            if self.interval <= 0 or self._stop.wait(self.interval):
                return

    def stop(self):
        self._stop.set()
