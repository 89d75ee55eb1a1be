"""``openstack vmr ...``: VMR's commands in the OpenStack client.

An OSC plugin (``openstack.cli.extension``): the same command classes as
``vmr`` (registered under ``openstack.vmr.v1``), one implementation.  OSC
authenticates (``--os-cloud``, ``OS_*``) and this module turns its session
into VMR's :class:`~vmr_client.http.ApiClient`, with the endpoint of
service type ``vmr`` from the catalog, or ``--os-vmr-url``.
"""

import os

from vmr_client import http

DEFAULT_API_VERSION = '1'
API_VERSION_OPTION = 'os_vmr_api_version'
API_NAME = 'vmr'
API_VERSIONS = {'1': 'vmr_client.http.ApiClient'}


def make_client(instance):
    """The :class:`ApiClient` OSC hands to ``client_manager.vmr``."""
    url = getattr(instance, '_cli_options', None)
    url = getattr(url, 'os_vmr_url', None) or os.environ.get('VMR_URL')
    if not url:
        url = instance.get_endpoint_for_service_type(
            http.DEFAULT_SERVICE_TYPE, region_name=instance.region_name,
            interface=instance.interface)
    if not url:
        from vmr_client.errors import ApiError
        raise ApiError('no %r endpoint in the catalog; pass --os-vmr-url'
                       % http.DEFAULT_SERVICE_TYPE)
    return http.ApiClient(url, session=instance.session)


def build_option_parser(parser):
    """OSC's global options for VMR."""
    parser.add_argument(
        '--os-vmr-api-version', metavar='<vmr-api-version>',
        default=os.environ.get('OS_VMR_API_VERSION', DEFAULT_API_VERSION),
        help='VMR API version (env OS_VMR_API_VERSION, default %s)'
             % DEFAULT_API_VERSION)
    parser.add_argument(
        '--os-vmr-url', metavar='<url>', default=os.environ.get('VMR_URL'),
        help='VMR API URL instead of the catalog\'s (env VMR_URL)')
    return parser
