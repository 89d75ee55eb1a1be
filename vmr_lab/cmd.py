"""The ``vmr-lab`` command: run the lab cloud (and, later, demos).

Subcommands register themselves: a module in ``SUBCOMMAND_MODULES`` that
exists and defines ``register(subparsers)`` adds its own parser (with
``set_defaults(func=...)``), so ``vmr_lab.demo`` plugs in a ``demo``
subcommand without touching this file.
"""

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading

from vmr_lab.cloud import DEFAULT_DELAYS

#: Optional modules that may add subcommands via ``register(subparsers)``.
SUBCOMMAND_MODULES = ('vmr_lab.demo',)

CLOUD_DESCRIPTION = """\
Run the VMR lab cloud in the foreground: an OpenStack API simulator on
127.0.0.1 (Keystone v3, Nova v2.1 up to microversion 2.96, and Neutron,
Octavia, Glance, Cinder and Mistral when available), simulated compute
hosts with virtual IPMI BMCs, and an invariant monitor that reports any
server running twice or lost.

Every API listens on its own free 127.0.0.1 port.  The command writes a
clouds.yaml with three clouds -- vmr-lab (admin), vmr-lab-member and
vmr-lab-reader -- and, when asked, a JSON ready file with the ports, the
control API URL and the BMC of each host; the ready file appears only once
everything answers, so scripts can wait for it.

Each host HOST writes its boot id to STATE_DIR/HOST/boot_id; a new id
appears on every power-on.
"""

CLOUD_EPILOG = """\
control API (no auth, 127.0.0.1 only), under http://127.0.0.1:PORT/lab/v1:
  GET  /violations                invariant monitor findings
  GET  /hosts                     power, BMC port/user, nova-compute state,
                                  running servers, faults
  POST /hosts/HOST/fault          {"type": "power_loss|power_on|kernel_hang|
                                   agent_death|partition|heal_partition|
                                   slow_bmc|bmc_unreachable|network_delay|
                                   clear", ...}
  POST /hosts/HOST/agent          {"pid": N}: power loss kills it
  POST /services/NAME/faults      {"status": 503, "count": 5,
                                   "method": "POST", "path_contains": "action"}
  POST /etcd-proxies              {"host": "127.0.0.1", "port": 2379}
  GET  /events                    timeline (?since=SEQ&type=TYPE)
  POST /scenario/end              final check: lost servers

BMCs answer IPMI 2.0 (lanplus) with user 'admin', password 'vmr-lab-bmc'
unless --bmc-username/--bmc-password say otherwise, e.g.
  ipmitool -I lanplus -H 127.0.0.1 -p PORT -U admin -P vmr-lab-bmc power status

examples:
  vmr-lab cloud --hosts 10 --servers 50 --clouds-yaml ./clouds.yaml \\
      --state-dir ./lab --ready-file ./lab/ready.json
  OS_CLIENT_CONFIG_FILE=./clouds.yaml openstack --os-cloud vmr-lab \\
      compute service list

SIGTERM or SIGINT stops the lab cleanly (exit status 0).
"""


def _delay(text):
    name, sep, value = text.partition('=')
    if not sep or name not in DEFAULT_DELAYS:
        raise argparse.ArgumentTypeError(
            'expected NAME=SECONDS with NAME one of %s'
            % ', '.join(sorted(DEFAULT_DELAYS)))
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a number of seconds'
                                         % value)


def _add_cloud_parser(subparsers):
    parser = subparsers.add_parser(
        'cloud', help='run the lab cloud in the foreground',
        description=CLOUD_DESCRIPTION, epilog=CLOUD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--hosts', type=int, default=3, metavar='N',
                        help='number of simulated compute hosts, named '
                             'compute-1 .. compute-N (default: 3)')
    parser.add_argument('--servers', type=int, default=0, metavar='N',
                        help='ACTIVE servers to seed in project demo, '
                             'spread over the hosts (default: 0)')
    parser.add_argument('--clouds-yaml', metavar='PATH',
                        default='clouds.yaml',
                        help='where to write clouds.yaml (mode 0600; '
                             'default: ./clouds.yaml)')
    parser.add_argument('--state-dir', metavar='DIR', default=None,
                        help='directory for per-host files such as '
                             'HOST/boot_id (default: a temporary directory '
                             'removed on exit)')
    parser.add_argument('--state-file', metavar='PATH', default=None,
                        help='resume the cloud saved in this JSON file if it '
                             'exists, and save it there on exit (servers, '
                             'services, networks, images ..., host power, '
                             'events, violations)')
    parser.add_argument('--ready-file', metavar='PATH', default=None,
                        help='write a JSON document with ports, URLs and '
                             'BMCs here once every API answers')
    parser.add_argument('--control-port', type=int, default=0, metavar='N',
                        help='TCP port of the control API (default: a free '
                             'port, see the ready file)')
    parser.add_argument('--bmc-base-port', type=int, default=None,
                        metavar='N',
                        help='UDP port of the first host BMC; host i gets '
                             'N+i (default: free ports)')
    parser.add_argument('--no-bmc', action='store_true',
                        help='do not start virtual BMCs')
    parser.add_argument('--bmc-username', default='admin', metavar='USER',
                        help='IPMI user of every BMC (default: admin)')
    parser.add_argument('--bmc-password', default='vmr-lab-bmc',
                        metavar='PASSWORD',
                        help='IPMI password of every BMC (default: '
                             'vmr-lab-bmc; a lab secret, visible in ps)')
    parser.add_argument('--etcd', metavar='HOST:PORT', default=None,
                        help='create a per-host TCP proxy to this etcd; '
                             'agents of host H connect through H\'s proxy '
                             'so a partition of H cuts only H')
    parser.add_argument('--service-down-time', type=float, default=6.0,
                        metavar='SECONDS',
                        help='seconds without a nova-compute report before '
                             'Nova calls it down (default: 6; 60 in '
                             'production)')
    parser.add_argument('--report-interval', type=float, default=1.0,
                        metavar='SECONDS',
                        help='nova-compute report interval (default: 1)')
    parser.add_argument('--microversion-max', default='2.96', metavar='2.N',
                        help='highest Nova microversion served '
                             '(default: 2.96)')
    parser.add_argument('--conductor-workers', type=int, default=4,
                        metavar='N',
                        help='boots and evacuations processed at the same '
                             'time; the rest queue (default: 4)')
    parser.add_argument('--delay', type=_delay, action='append', default=[],
                        metavar='NAME=SECONDS',
                        help='override an action delay; repeatable. Names '
                             'and defaults: %s' % ', '.join(
                                 '%s=%g' % item
                                 for item in sorted(DEFAULT_DELAYS.items())))
    parser.add_argument('--real', action='store_true',
                        help='run the real tier instead of the simulator: '
                             'Keystone, Placement, Nova and Glance from '
                             'their own releases, one real nova-compute per '
                             'host, Debian MariaDB and RabbitMQ; clouds are '
                             'then vmr-real, vmr-real-member and '
                             'vmr-real-reader (--servers boots servers; '
                             'simulator-only options are ignored)')
    parser.add_argument('--with', dest='services', action='append',
                        default=[],
                        choices=('aodh', 'cinder', 'masakari', 'mistral',
                                 'octavia'),
                        metavar='SERVICE',
                        help='with --real: run this optional service too '
                             '(aodh: aodh-api in the catalog as alarming, '
                             'its evaluator, notifier and listener, and '
                             'Nova notifications turned into the events '
                             'aodh-listener reads; cinder: cinder-api in '
                             'the catalog as block-storage and volumev3, '
                             'its scheduler and volume service; masakari: '
                             'masakari-api as instance-ha; mistral: '
                             'its api, engine and executor, the API in the '
                             'catalog as workflowv2; octavia: octavia-api '
                             'as load-balancer and octavia-worker with '
                             "Octavia's no-op amphora drivers); repeatable")
    parser.add_argument('--workdir', metavar='DIR', default=None,
                        help='with --real: where the services keep config, '
                             'logs, database and queue (default: a '
                             'temporary directory removed on exit)')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='debug logging (every state change)')
    parser.set_defaults(func=run_cloud)
    return parser


def build_parser():
    """The ``vmr-lab`` argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog='vmr-lab',
        description='The VMR lab: an OpenStack cloud on one machine, with '
                    'virtual BMCs and an invariant monitor.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    _add_cloud_parser(subparsers)
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if exc.name != module_name:
                raise
            continue
        register = getattr(module, 'register', None)
        if register is not None:
            register(subparsers)
    return parser


def _write_json(path, document):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as fh:
        json.dump(document, fh, indent=2, sort_keys=True)
    # Atomic: a watcher never reads half a ready file.
    os.replace(tmp, path)


def run_cloud(args):
    """Run the lab until SIGTERM/SIGINT; return the exit status."""
    if args.real:
        from vmr_lab.real.cloud import RealCloud
        lab = RealCloud(hosts=args.hosts, workdir=args.workdir,
                        state_dir=args.state_dir, bmc=not args.no_bmc,
                        bmc_base_port=args.bmc_base_port,
                        bmc_username=args.bmc_username,
                        bmc_password=args.bmc_password,
                        control_port=args.control_port,
                        servers=args.servers, services=args.services)
        return _serve_cloud(lab, args)
    from vmr_lab.cloud import LabCloud
    lab = LabCloud(hosts=args.hosts, servers=args.servers,
                   service_down_time=args.service_down_time,
                   delays=dict(args.delay),
                   microversion_max=args.microversion_max,
                   state_file=args.state_file, state_dir=args.state_dir,
                   report_interval=args.report_interval,
                   bmc=not args.no_bmc, bmc_base_port=args.bmc_base_port,
                   bmc_username=args.bmc_username,
                   bmc_password=args.bmc_password,
                   control_port=args.control_port,
                   conductor_workers=args.conductor_workers)
    return _serve_cloud(lab, args)


def _serve_cloud(lab, args):
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        lab.start()
        if args.etcd:
            host, _, port = args.etcd.rpartition(':')
            lab.create_etcd_proxies(host or '127.0.0.1', int(port))
        lab.write_clouds_yaml(args.clouds_yaml)
        ready = lab.describe()
        ready['clouds_yaml'] = os.path.abspath(args.clouds_yaml)
        ready['pid'] = os.getpid()
        if args.ready_file:
            _write_json(args.ready_file, ready)
        print('vmr-lab cloud ready: keystone %s, control %s, clouds.yaml %s'
              % (lab.auth_url, lab.control_url, ready['clouds_yaml']),
              flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        lab.stop()
        if args.ready_file and os.path.exists(args.ready_file):
            os.unlink(args.ready_file)
    print('vmr-lab cloud stopped', flush=True)
    return 0


def main(argv=None):
    """Entry point of the ``vmr-lab`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, 'verbose', False)
        else logging.INFO,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    if not getattr(args, 'verbose', False):
        # cheroot logs every connection reset at INFO: noise for operators.
        logging.getLogger('cheroot').setLevel(logging.WARNING)
    try:
        return args.func(args)
    except (OSError, ValueError) as exc:
        print('vmr-lab: error: %s' % exc, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
