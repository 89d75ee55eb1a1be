"""What the demo starts besides the cloud: the configuration files, fence
profiles and secrets of the agents and coordinators, the processes
themselves, and the probe responders of the simulated hosts.

A part of :class:`vmr_lab.demo.Demo`.
"""

import os
import subprocess
import sys
import textwrap

import yaml

from vmr_lab.demo.defaults import DEMO_TIMING


class Processes:
    """The agents and coordinators of a demo run (a mixin of ``Demo``)."""

    def _start_host_responders(self):
        """Each simulated host answers probes on its 'tenant' network while
        it is powered and not hung, whatever its agent does: this is what
        tells a dead agent from a dead host."""
        from vmr_common.reach.probes import ProbeResponder
        from vmr_lab.ports import free_udp_port
        self.responders = {}
        self.tenant_ports = {}
        for name, host in self.lab.hosts.items():
            port = free_udp_port()
            responder = ProbeResponder(
                name, [('127.0.0.1', port)],
                alive=lambda h=host: h.get_power() == 'on' and not h.hung)
            responder.start()
            self.responders[name] = responder
            self.tenant_ports[name] = port

    def _fence_profiles(self):
        hosts = {}
        for name, host in self.lab.hosts.items():
            hosts[name] = {'address': host.bmc.address, 'port': host.bmc.port}
        data = {'profiles': {'lab': {
            'hosts': hosts,
            'ladder': [{'driver': 'ipmi', 'username': self.lab.bmc_username,
                        'password': self.lab._bmc_password, 'timeout': 4}],
            'post': [{'driver': 'nova_force_down', 'disable': True}],
        }}}
        path = os.path.join(self.workdir, 'fence-profiles.yaml')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as fh:
            yaml.safe_dump(data, fh)
        return path

    def _conf(self, name, kind, clouds, profiles, host=None):
        from vmr_lab.ports import free_udp_port
        probe_port = free_udp_port()
        text = textwrap.dedent('''\
            [DEFAULT]
            host = {name}
            state_path = {workdir}
            [etcd]
            endpoints = {etcd_url}
            cluster = demo
            {etcd_timing}
            [heartbeat]
            {heartbeat_timing}
            [coordinator]
            {coordinator_timing}
            {coordinator_options}
            [agent]
            addresses = {addresses}
            responder_networks = management
            boot_id_file = {boot_id}
            {agent_options}
            [fencing]
            profiles_file = {profiles}
            [cloud]
            cloud = {cloud}
            clouds_yaml = {clouds}
            [api]
            enabled = {api_enabled}
            auth_strategy = noauth
            bind_host = 127.0.0.1
            bind_port = {api_port}
            webhook_token = {webhook_token}
            [actions]
            secrets_file = {secrets}
            {journal}''').format(journal=(
                            '[journal]\nwrite_format = %d\n'
                            % self.journal_format
                            if self.journal_format and host is None else ''),
                        name=name, workdir=self.workdir,
                        etcd_url=('http://127.0.0.1:%d' % self.etcd_ports[name]
                                  if host is not None else self.etcd.endpoint),
                        addresses=self._addresses(name, probe_port),
                        boot_id=host.boot_id_path if host else '/dev/null',
                        profiles=profiles, clouds=clouds,
                        **self._timing_lines(),
                        cloud=self.lab.cloud_name,
                        api_enabled='false' if host else 'true',
                        api_port=self._api_port(name),
                        webhook_token=self.webhook_token,
                        agent_options=self.agent_options if host else '',
                        coordinator_options=(
                            '' if host else self.coordinator_options),
                        secrets=self._secrets_file())
        path = os.path.join(self.workdir, '%s.conf' % name)
        with open(path, 'w') as fh:
            fh.write(text)
        return path

    def _timing_lines(self):
        """The timing options of each section: the demo's fast ones, or
        none at all so that VMR's shipped defaults apply."""
        if self.timing == 'shipped':
            return {'etcd_timing': '', 'heartbeat_timing': '',
                    'coordinator_timing': ''}
        timing = dict(DEMO_TIMING, coordinator=dict(
            DEMO_TIMING['coordinator'], grace=self.grace))
        return {'%s_timing' % section: '\n'.join(
            '%s = %s' % kv for kv in options.items())
            for section, options in timing.items()}

    @property
    def webhook_token(self):
        if not hasattr(self, '_webhook_token'):
            self._webhook_token = os.urandom(16).hex()
        return self._webhook_token

    def _secrets_file(self):
        """Secrets the webhook action signs with (mode 0600)."""
        path = os.path.join(self.workdir, 'secrets.yaml')
        if not os.path.exists(path):
            self.webhook_secret = os.urandom(16).hex()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as fh:
                yaml.safe_dump({'secrets': {'demo': self.webhook_secret}}, fh)
        return path

    def _api_port(self, name):
        from vmr_lab.ports import free_port
        self.api_ports = getattr(self, 'api_ports', {})
        return self.api_ports.setdefault(name, free_port())

    def api_url(self, name='controller-1'):
        return 'http://127.0.0.1:%d' % self._api_port(name)

    def _api_answers(self, name):
        import requests
        try:
            requests.get(self.api_url(name) + '/v1/status', timeout=5)
        except requests.RequestException:
            return False
        return True

    def _addresses(self, name, probe_port):
        out = 'management:127.0.0.1:%d' % probe_port
        if name in getattr(self, 'tenant_ports', {}):
            out += ',tenant:127.0.0.1:%d' % self.tenant_ports[name]
        return out

    def _spawn_options(self, kind, name):
        """Extra ``Popen`` arguments (``env``, ``cwd``) for process
        ``name``; a subclass runs another release this way
        (:meth:`from_tree`)."""
        return {}

    def from_tree(self, tree):
        """The ``Popen`` arguments that run a process on the VMR packages
        in directory ``tree`` (another release or revision) instead of
        this checkout's."""
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            p for p in (tree, env.get('PYTHONPATH')) if p)
        # python -c puts the working directory first on sys.path: not the
        # checkout, whose packages would shadow the tree's
        return {'env': env, 'cwd': self.workdir}

    def _spawn(self, kind, name, conf):
        module = 'vmr_agent.cmd' if kind == 'agent' else 'vmr_coordinator.cmd'
        log = open(os.path.join(self.workdir, '%s.log' % name), 'ab')
        self.procs[name] = subprocess.Popen(
            [sys.executable, '-c', 'import sys, %s as m; sys.exit(m.main())'
             % module, '--config-file', conf],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            **self._spawn_options(kind, name))
