"""Smoke test of the real tier: boot, lose a host, evacuate, move, rebuild.

    python -m vmr_lab.real.smoke [--keep] [--workdir DIR]

Starts the real cloud with three hosts, boots three servers on compute-2
(each with a port on the ``private`` network, bound by Neutron),
SIGKILLs compute-2's nova-compute, forces it down and evacuates the servers
(microversion 2.94, so they come back ACTIVE), then live-migrates,
rebuilds, hard-reboots, stops/starts, suspends/resumes one server and
snapshots one into Glance.  The guest journals of the hosts must agree
with Nova about where each server runs, and each server's port must be
bound (``ACTIVE``) to the host Nova says.  Prints each phase's time; exit
code 0 on success.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from vmr_lab.real import catalog
from vmr_lab.real.install import ensure_installed
from vmr_lab.real.services import RealServices

MICROVERSION = '2.94'  # evacuated servers end ACTIVE (2.95+: SHUTOFF)


def wait_server(conn, server_id, ok, what, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        server = conn.compute.get_server(server_id)
        if ok(server):
            return server
        if server.status == 'ERROR':
            raise RuntimeError('%s: server %s went to ERROR: %s'
                               % (what, server_id, server.fault))
        if time.monotonic() > deadline:
            raise RuntimeError('%s: server %s still %s/%s on %s' % (
                what, server_id, server.status, server.task_state,
                server.compute_host))
        time.sleep(0.3)


def active(server):
    return server.status == 'ACTIVE' and not server.task_state


def running_guests(services):
    """host -> set of server UUIDs that the journals say run there.

    A host whose nova-compute process is gone runs nothing: its guests
    lived in that process.
    """
    running = {}
    for host in services.hosts:
        here = running.setdefault(host, set())
        path = services.guests_journal(host)
        if services.compute_pid(host) is None or not os.path.exists(path):
            continue
        with open(path) as fh:
            for line in fh:
                rec = json.loads(line)
                if rec['event'] == 'hypervisor_start':
                    here.clear()
                elif rec['event'] == 'start':
                    here.add(rec['server'])
                elif rec['event'] == 'stop':
                    here.discard(rec['server'])
    return running


class Smoke:
    def __init__(self, services):
        self.rs = services
        self.timings = {}
        self.conn = catalog.connect(services.auth_url, 'admin',
                                    services.admin_password, 'admin',
                                    compute_api_version=MICROVERSION)

    def phase(self, name, t0):
        self.timings[name] = round(time.monotonic() - t0, 2)
        print('smoke: %-28s %6.2f s' % (name, self.timings[name]),
              flush=True)

    def run(self):
        c = self.conn.compute
        flavor = c.find_flavor('m1.tiny')
        t0 = time.monotonic()
        ids = [c.create_server(name='smoke-%d' % i, flavor_id=flavor.id,
                               image_id=self.rs.image_id,
                               networks=[{'uuid':
                                          self.rs.networks['private']}],
                               availability_zone='nova:compute-2').id
               for i in range(3)]
        for sid in ids:
            wait_server(self.conn, sid, active, 'boot')
        self.phase('boot 3 on compute-2', t0)

        t0 = time.monotonic()
        self.rs.kill_compute('compute-2')
        svc = next(iter(c.services(binary='nova-compute', host='compute-2')))
        c.update_service_forced_down(svc, 'compute-2', 'nova-compute', True)
        for sid in ids:
            c.evacuate_server(sid)
        servers = [wait_server(self.conn, sid, lambda s: active(s) and
                               s.compute_host != 'compute-2', 'evacuate')
                   for sid in ids]
        self.phase('kill+force down+evacuate 3', t0)

        t0 = time.monotonic()
        moved = servers[0]
        c.live_migrate_server(moved, host=None, block_migration='auto')
        wait_server(self.conn, moved.id, lambda s: active(s) and
                    s.compute_host != moved.compute_host, 'live migration')
        self.phase('live migration', t0)

        t0 = time.monotonic()
        c.rebuild_server(ids[1], image=self.rs.image_id)
        wait_server(self.conn, ids[1], lambda s: s.status == 'REBUILD' or
                    s.task_state, 'rebuild accepted', 30)
        wait_server(self.conn, ids[1], active, 'rebuild')
        self.phase('rebuild', t0)

        t0 = time.monotonic()
        c.reboot_server(ids[2], 'HARD')
        wait_server(self.conn, ids[2], active, 'hard reboot')
        self.phase('hard reboot', t0)

        t0 = time.monotonic()
        c.stop_server(ids[2])
        wait_server(self.conn, ids[2], lambda s: s.status == 'SHUTOFF', 'stop')
        c.start_server(ids[2])
        wait_server(self.conn, ids[2], active, 'start')
        c.suspend_server(ids[2])
        wait_server(self.conn, ids[2], lambda s: s.status == 'SUSPENDED',
                    'suspend')
        c.resume_server(ids[2])
        wait_server(self.conn, ids[2], active, 'resume')
        self.phase('stop/start+suspend/resume', t0)

        t0 = time.monotonic()
        image = c.create_server_image(ids[0], 'smoke-snapshot')
        deadline = time.monotonic() + 120
        while self.conn.image.get_image(image.id).status != 'active':
            if time.monotonic() > deadline:
                raise RuntimeError('snapshot %s not active in Glance'
                                   % image.id)
            time.sleep(0.3)
        wait_server(self.conn, ids[0], active, 'snapshot done')
        self.phase('snapshot to Glance', t0)

        self.check_journals(ids)
        self.check_ports(ids)

    def check_ports(self, ids):
        for sid in ids:
            host = self.conn.compute.get_server(sid).compute_host
            ports = list(self.conn.network.ports(device_id=sid))
            bound = [(p.binding_host_id, p.status, p.binding_vif_type)
                     for p in ports]
            if bound != [(host, 'ACTIVE', 'ovs')]:
                raise RuntimeError('ports of %s (on %s): %s'
                                   % (sid, host, bound))
        print('smoke: every port is bound to its server\'s host')

    def check_journals(self, ids):
        running = running_guests(self.rs)
        for sid in ids:
            host = self.conn.compute.get_server(sid).compute_host
            where = sorted(h for h, guests in running.items()
                           if sid in guests)
            if where != [host]:
                raise RuntimeError('guest journals put %s on %s, Nova on %s'
                                   % (sid, where, host))
        print('smoke: guest journals agree with Nova for %d servers'
              % len(ids))


def leftovers(pids):
    """Which of ``pids`` still exist (zombies aside)."""
    alive = []
    for pid in pids:
        try:
            with open('/proc/%d/stat' % pid) as fh:
                if fh.read().split(')')[-1].split()[0] != 'Z':
                    alive.append(pid)
        except FileNotFoundError:
            pass
    return alive


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keep', action='store_true',
                        help='keep the work directory (logs, configs)')
    parser.add_argument('--workdir', help='work directory (default: a '
                        'new temporary one)')
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    install = ensure_installed()
    print('smoke: ensure_installed %.2f s' % (time.monotonic() - t0))
    workdir = args.workdir or tempfile.mkdtemp(prefix='vmr-real-smoke-')
    rs = RealServices(workdir, install=install)
    ok = False
    try:
        rs.start()
        rs.write_clouds_yaml(os.path.join(workdir, 'clouds.yaml'))
        Smoke(rs).run()
        ok = True
    finally:
        pids = [p.pid for p in rs.procs.values() if p.pid] + [
            s.proc.pid for s in (rs.db, rs.mq) if s.proc is not None]
        rs.stop()
        print('smoke: stop %.2f s' % rs.timings.get('stop', 0))
        left = leftovers(pids)
        if left:
            print('smoke: still running after stop: %s' % left)
            ok = False
        if args.keep or not ok:
            print('smoke: work directory kept: %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print('smoke: %s in %.1f s' % ('passed' if ok else 'FAILED',
                                  time.monotonic() - t0))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
