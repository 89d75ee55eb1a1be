"""``vmr-lab demo``: the whole of VMR on one machine, one failure, healed.

Starts a throw-away etcd, the lab cloud (Keystone, Nova, Neutron, ... on
127.0.0.1, simulated hosts with virtual IPMI BMCs, the invariant monitor),
one real ``vmr-agent`` per simulated host, two real ``vmr-coordinator``
processes with an IPMI fence profile, loads a contract, then cuts the power
of one host and prints what VMR does: detection, the fence and its proof,
each server's evacuation, and the invariant monitor's verdict.  Exits 0
only when every server of the dead host runs elsewhere and no invariant
was violated.  Every process it started is stopped on exit and on Ctrl-C.
"""

import argparse
import logging
import shutil
import signal

from vmr_lab.demo.defaults import SCENARIOS
from vmr_lab.demo.runner import Demo


def run_demo(args):
    logging.basicConfig(level=logging.WARNING if not args.verbose
                        else logging.INFO)
    # Hosts of one power failure drop out of the group up to a TTL apart: a
    # grace of one TTL lets the brake see them together (DESIGN §3).
    grace = 3.0 if args.scenario == 'mass-failure' else 0.0
    # On the real tier the lb-failover scenario needs real Octavia too.
    options = {'services': ('octavia',)} \
        if args.real and args.scenario == 'lb-failover' else None
    demo = Demo(hosts=args.hosts, servers=args.servers, verbose=args.verbose,
                grace=grace, real=args.real, lab_options=options)
    ok = False
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(
        KeyboardInterrupt()))
    try:
        demo.start()
        if args.scenario == 'none':
            ok = True
        else:
            ok = demo.run(args.scenario, args.victim, args.timeout)
        if args.stay:
            demo.stay()
    except KeyboardInterrupt:
        demo.say('interrupted: cleaning up')
    except Exception as exc:
        demo.say('ERROR: %s' % exc)
    finally:
        demo.stop()
        signal.signal(signal.SIGTERM, previous)
        if args.keep:
            demo.say('logs kept in %s' % demo.workdir)
        else:
            shutil.rmtree(demo.workdir, ignore_errors=True)
    return 0 if ok else 1


def register(subparsers):
    parser = subparsers.add_parser(
        'demo', help='run VMR end to end on the lab and heal a failure',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--scenario', choices=SCENARIOS + ('none',),
                        default='power-loss',
                        help='the failure to inject (default power-loss; '
                             'none: no failure, with --stay a lab to try '
                             'the vmr CLI on)')
    parser.add_argument('--hosts', type=int, default=3,
                        help='simulated compute hosts (default 3)')
    parser.add_argument('--servers', type=int, default=6,
                        help='servers spread over the hosts (default 6)')
    parser.add_argument('--victim', default='compute-2',
                        help='the host that fails (default compute-2)')
    parser.add_argument('--timeout', type=float, default=90,
                        help='seconds to wait for the recovery')
    parser.add_argument('--real', action='store_true',
                        help='run on the real tier: Keystone, Placement, '
                             'Nova and Glance from their own releases, one '
                             'real nova-compute per host (installs them on '
                             'first use; needs MariaDB and RabbitMQ)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the work directory with every log')
    parser.add_argument('--stay', action='store_true',
                        help='after the scenario keep etcd, the cloud, the '
                             'agents and the coordinators running and print '
                             'how to try every vmr command on them, until '
                             'Ctrl-C')
    parser.add_argument('-v', '--verbose', action='store_true')
    parser.set_defaults(func=run_demo)
    return parser
