"""Fence + verify time per fencer against the lab's virtual BMCs.

For each driver, the simulated host is powered on directly, then the timer
covers one ``fencer.fence(target, timeout)`` call: connect/login, power off,
and the proof (power state polled until off, or ``action=status`` exit 2).

* ``ipmi``: pyghmi client -> :class:`vmr_lab.bmc.BmcServer` (IPMI 2.0 lanplus
  on 127.0.0.1), polling every ``--poll-interval`` s;
* ``fence_agent``: the real ``/usr/sbin/fence_ipmilan`` (``lanplus=1``,
  ``power_wait=0``) against the same kind of BMC, ``off`` then ``status``;
* ``redfish``: sushy -> :class:`vmr_lab.redfish.RedfishServer` (HTTP,
  session auth), ForceOff then PowerState polled.

Run::

    python -m tests.benchmarks.bench_fencing --runs 30
"""

import argparse
import json
import os
import sys
import time

from oslo_config import cfg

from tests.benchmarks import stats
from vmr_common.conf import fencing as fencing_conf
from vmr_coordinator.fencing import base
from vmr_lab.bmc import BmcServer, PowerState
from vmr_lab.ports import free_udp_port
from vmr_lab.redfish import RedfishServer

DRIVERS = ('ipmi', 'fence_agent', 'redfish')
USER = 'bench'
PASSWORD = 'bench-password'  # noqa: S105 - loopback lab BMC


def make_conf(poll_interval):
    conf = cfg.ConfigOpts()
    fencing_conf.register_opts(conf)
    conf([])
    conf.set_override('poll_interval', poll_interval, 'fencing')
    return conf


def bench_driver(driver, runs, conf, bmcs, redfish, timeout):
    """Fence ``runs`` times with ``driver``; return (durations, failures)."""
    power = PowerState()
    if driver == 'redfish':
        redfish.add_system('bench-%d' % id(power), power.get_power, power.set_power)
        options = {'address': redfish.url, 'username': USER,
                   'password': PASSWORD, 'system': 'bench-%d' % id(power)}
    else:
        port = free_udp_port()
        bmcs.add('bench-%s' % driver, port, USER, PASSWORD, power.get_power,
                 power.set_power)
        options = {'address': '127.0.0.1', 'port': port, 'username': USER,
                   'password': PASSWORD}
        if driver == 'fence_agent':
            options.update(agent='fence_ipmilan', options={
                'lanplus': 1, 'power_wait': 0, 'stonith_status_sleep': 0,
                'power_timeout': 5})
    fencer = base.load_fencer(driver, options, conf)
    target = base.FenceTarget(host='bench')
    durations, failures = [], []
    fencer.fence(target, timeout)  # warm-up: imports, first login
    for _ in range(runs):
        power.power = 'on'
        start = time.monotonic()
        result = fencer.fence(target, timeout)
        elapsed = time.monotonic() - start
        if result.verified and power.power == 'off':
            durations.append(elapsed)
        else:
            failures.append(result.error or 'not verified')
    return durations, failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=30,
                        help='fences per driver (default 30)')
    parser.add_argument('--drivers', default=','.join(DRIVERS),
                        help='comma-separated subset of %s' % ','.join(DRIVERS))
    parser.add_argument('--poll-interval', type=float, default=0.05,
                        help='[fencing] poll_interval (default 0.05 s)')
    parser.add_argument('--timeout', type=float, default=10.0,
                        help='per-fence timeout (default 10 s)')
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args(argv)

    drivers = [d for d in args.drivers.split(',') if d]
    if 'fence_agent' in drivers and not os.access('/usr/sbin/fence_ipmilan',
                                                  os.X_OK):
        print('fence_agent: /usr/sbin/fence_ipmilan not installed, skipped',
              file=sys.stderr)
        drivers.remove('fence_agent')
    conf = make_conf(args.poll_interval)
    bmcs = BmcServer().start()
    redfish = RedfishServer(USER, PASSWORD).start()
    rows, failures = {}, {}
    try:
        for driver in drivers:
            durations, failed = bench_driver(driver, args.runs, conf, bmcs,
                                             redfish, args.timeout)
            rows['%s fence+verify (s)' % driver] = stats.summary(durations)
            failures[driver] = failed
    finally:
        redfish.stop()
        bmcs.stop()
    print('fence + verify, %d runs per driver, poll interval %g s, %d CPUs'
          % (args.runs, args.poll_interval, os.cpu_count() or 0))
    print(stats.table(rows))
    for driver, failed in failures.items():
        if failed:
            print('%s: %d failed runs, e.g. %s' % (driver, len(failed),
                                                   failed[0]))
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump({'runs': args.runs, 'poll_interval': args.poll_interval,
                       'results': rows, 'failures': failures}, handle,
                      indent=1, sort_keys=True)
    return 1 if any(failures.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
