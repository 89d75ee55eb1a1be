"""The `vmr` CLI's connection to the REST API.

One keystoneauth1 session for both auth modes: with a ``clouds.yaml`` cloud
it carries the Keystone token (and finds the endpoint in the catalog), with
``--url`` alone it is a plain HTTP session (``auth_strategy = noauth`` or an
explicit ``--os-token``).
"""

from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session

from vmr_client.errors import ApiError

#: service type of VMR in the Keystone catalog
DEFAULT_SERVICE_TYPE = 'vmr'


class ApiClient:
    """Calls ``<url>/v1/...`` and returns decoded JSON bodies."""

    def __init__(self, url, session=None, token=None, timeout=30.0):
        self.url = url.rstrip('/')
        self.session = session or ksa_session.Session()
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_cloud(cls, cloud, url=None, service_type=DEFAULT_SERVICE_TYPE,
                   interface='public', timeout=30.0):
        """A client authenticated as ``cloud`` (a ``clouds.yaml`` entry)."""
        import openstack.config
        try:
            region = openstack.config.OpenStackConfig().get_one(cloud=cloud)
            session = region.get_session()
            if url is None:
                url = session.get_endpoint(service_type=service_type,
                                           interface=interface)
        except ksa_exc.ClientException as exc:
            raise ApiError('cannot authenticate as cloud %r: %s'
                           % (cloud, exc))
        except Exception as exc:  # openstack.config raises its own types
            raise ApiError('cannot load cloud %r from clouds.yaml: %s'
                           % (cloud, exc))
        if not url:
            raise ApiError('cloud %r has no %r endpoint in its catalog; pass '
                           '--url' % (cloud, service_type))
        return cls(url, session=session, timeout=timeout)

    def request(self, method, path, body=None, params=None, raw=None,
                content_type=None):
        """``(status, decoded body or None)``; :class:`ApiError` on >= 400."""
        headers = {'Accept': 'application/json'}
        if self.token:
            headers['X-Auth-Token'] = self.token
        kwargs = {}
        if raw is not None:
            kwargs['data'] = raw
            headers['Content-Type'] = content_type or 'application/json'
        elif body is not None:
            kwargs['json'] = body
        url = self.url + path
        try:
            resp = self.session.request(
                url, method, headers=headers, params=params or {},
                raise_exc=False, connect_retries=0, timeout=self.timeout,
                authenticated=True if self.session.auth else False, **kwargs)
        except ksa_exc.ConnectFailure as exc:
            raise ApiError('cannot reach the VMR API at %s: %s'
                           % (self.url, exc))
        except ksa_exc.ClientException as exc:
            raise ApiError('request to %s failed: %s' % (url, exc))
        data = None
        if resp.content:
            try:
                data = resp.json()
            except ValueError:
                data = None
        if resp.status_code >= 400:
            error = (data or {}).get('error') if isinstance(data, dict) \
                else None
            if isinstance(error, dict) and error.get('message'):
                raise ApiError('%s (HTTP %d)' % (error['message'],
                                                 resp.status_code),
                               resp.status_code, error.get('field'))
            raise ApiError('%s %s: HTTP %d %s' % (
                method, path, resp.status_code, (resp.text or '')[:200]),
                resp.status_code)
        return resp.status_code, data

    def get(self, path, **params):
        return self.request('GET', path,
                            params={k: v for k, v in params.items()
                                    if v is not None})[1]

    def post(self, path, body=None, **kw):
        return self.request('POST', path, body, **kw)[1]

    def put(self, path, body=None, **kw):
        return self.request('PUT', path, body, **kw)[1]

    def delete(self, path):
        return self.request('DELETE', path)[1]
