"""``vmr``: the operators' command line for the VMR REST API (cliff).

Commands live in the cliff namespace ``vmr.cli``: the built-in ones are also
registered here, so the CLI works before its entry points are installed, and
later commands (``vmr plan``, ``vmr capacity``, ``vmr keepalived render``)
plug in through the same namespace without touching this module.
"""

import argparse
import logging
import os
import sys

from cliff import app, commandmanager

import vmr_common
from vmr_client import errors, http
from vmr_client.commands import cluster, contract, fence, host, recovery

NAMESPACE = 'vmr.cli'

#: command name -> class; mirrored by the ``vmr.cli`` entry points
COMMANDS = {
    'contract create': contract.CreateContract,
    'contract validate': contract.ValidateContract,
    'contract list': contract.ListContracts,
    'contract show': contract.ShowContract,
    'contract delete': contract.DeleteContract,
    'host list': host.ListHosts,
    'host show': host.ShowHost,
    'host maintenance': host.HostMaintenance,
    'host confirm-fenced': host.ConfirmFenced,
    'fence test': fence.FenceTest,
    'recovery list': recovery.ListRecoveries,
    'recovery show': recovery.ShowRecovery,
    'recover': recovery.Recover,
    'status': cluster.Status,
    'pause': cluster.Pause,
    'resume': cluster.Resume,
    'brake release': cluster.BrakeRelease,
}


class VmrShell(app.App):
    """The ``vmr`` application: global options and the API client."""

    #: the program name in usage lines, whatever runs us (python -m, tests)
    NAME = 'vmr'

    def __init__(self, stdin=None, stdout=None, stderr=None):
        manager = commandmanager.CommandManager(NAMESPACE)
        for name, cls in COMMANDS.items():
            manager.add_command(name, cls)
        super().__init__(
            description='Operate VMR, the autohealing service for OpenStack '
                        'virtual machines.',
            version=vmr_common.__version__,
            command_manager=manager, deferred_help=True,
            stdin=stdin, stdout=stdout, stderr=stderr)
        self._client = None

    def build_option_parser(self, description, version, argparse_kwargs=None):
        argparse_kwargs = dict(argparse_kwargs or {}, prog=self.NAME)
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        for action in parser._actions:
            if isinstance(action, argparse._VersionAction):
                # cliff names the program after sys.argv[0] there
                action.version = '%s %s' % (self.NAME, version)
        env = os.environ
        parser.add_argument(
            '--url', default=env.get('VMR_URL'),
            help='base URL of the VMR API, e.g. http://ctl-1:8779 '
                 '(env VMR_URL); with --os-cloud, found in the catalog if '
                 'not given')
        parser.add_argument(
            '--os-cloud', default=env.get('OS_CLOUD'),
            help='cloud in clouds.yaml to authenticate with (env OS_CLOUD)')
        parser.add_argument(
            '--os-token', default=env.get('OS_TOKEN'),
            help='a Keystone token to send as is, with --url (env OS_TOKEN)')
        parser.add_argument(
            '--service-type', default=env.get('VMR_SERVICE_TYPE',
                                              http.DEFAULT_SERVICE_TYPE),
            help='service type of VMR in the catalog (default %(default)s)')
        parser.add_argument(
            '--os-interface', default=env.get('OS_INTERFACE', 'public'),
            help='catalog interface (default %(default)s)')
        parser.add_argument(
            '--timeout', type=float, default=30.0,
            help='seconds to wait for the API (default %(default)s)')
        return parser

    @property
    def client(self):
        """The :class:`~vmr_client.http.ApiClient`, built on first use."""
        if self._client is None:
            opts = self.options
            if opts.os_cloud and not opts.os_token:
                self._client = http.ApiClient.from_cloud(
                    opts.os_cloud, url=opts.url,
                    service_type=opts.service_type,
                    interface=opts.os_interface, timeout=opts.timeout)
            elif opts.url:
                self._client = http.ApiClient(opts.url, token=opts.os_token,
                                              timeout=opts.timeout)
            else:
                raise errors.ApiError('where is the VMR API? give --url (or '
                                    'set VMR_URL), or --os-cloud')
        return self._client


def main(argv=None):
    """Run ``vmr``; returns the exit status (2 for a usage error)."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        return VmrShell().run(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:  # argparse's usage errors and --help
        # cliff's top-level --help raises HelpExit() whose code is None:
        # a success, like sys.exit() without an argument
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        # cliff hangs its console handler on the root logger; take it off
        # again so that callers embedding main() (tests, scripts) do not
        # collect handlers writing to streams that are gone.
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)


if __name__ == '__main__':
    sys.exit(main())
