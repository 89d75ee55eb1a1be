"""``/dashboard/``: the web dashboard's static page, script and style.

The files ship in the package (``vmr_coordinator/api/dashboard/``, no
build step).  They hold no data and need no token: the page reads the REST
API with the caller's token, so the API's authentication and policy apply
to everything it shows.  Served with a Content-Security-Policy that allows
only this origin's scripts and styles.
"""

import importlib.resources

import webob

from vmr_coordinator.api.resources.base import ResourceBase, api_error

#: asset name -> content type (the only files served)
ASSETS = {'index.html': 'text/html', 'dashboard.js': 'text/javascript',
          'dashboard.css': 'text/css'}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")


def read_asset(name):
    """The bytes of one shipped asset."""
    return importlib.resources.files('vmr_coordinator.api').joinpath(
        'dashboard', name).read_bytes()


class DashboardResource(ResourceBase):
    """``/dashboard``, ``/dashboard/`` and ``/dashboard/{asset}``."""

    def dashboard_redirect(self, req):
        resp = webob.Response(status=301)
        resp.location = '/dashboard/'
        resp.content_type = None
        return resp

    def dashboard_index(self, req):
        return self._asset('index.html')

    def dashboard_asset(self, req, asset):
        if asset not in ASSETS:
            raise api_error(404, 'no such dashboard file: %s' % asset)
        return self._asset(asset)

    @staticmethod
    def _asset(name):
        resp = webob.Response(status=200, content_type=ASSETS[name],
                              charset='utf-8')
        resp.body = read_asset(name)
        resp.headers['Content-Security-Policy'] = CSP
        resp.headers['X-Content-Type-Options'] = 'nosniff'
        resp.headers['Cache-Control'] = 'no-cache'
        return resp
