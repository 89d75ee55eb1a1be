"""The web dashboard in a real browser: Debian's Chromium, headless, over
its DevTools protocol, against the API on a real etcd.

The page must load without a console error, draw the hosts and the
recoveries the API holds, and show a host turning failed within a couple
of its one-second polls.  Screenshots are kept in ``.artifacts/dashboard``
(or ``$VMR_ARTIFACTS/dashboard``) as test output."""

import os
import time

import pytest
import requests

from tests import chromium
from tests.procs import wait_for
from tests.support.keystone import kapi_fixture, keystone_lab_fixture

pytestmark = pytest.mark.skipif(
    not chromium.available(),
    reason='chromium is not installed (Debian package chromium; '
           'tools/run-tests.sh installs it)')

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..')
ARTIFACTS = os.path.join(os.environ.get('VMR_ARTIFACTS') or os.path.join(
    ROOT, '.artifacts'), 'dashboard')

lab = keystone_lab_fixture()
kapi = kapi_fixture()


@pytest.fixture
def browser():
    try:
        page = chromium.Chromium()
    except ModuleNotFoundError as exc:
        pytest.skip('websocket-client is not installed: %s' % exc)
    yield page
    page.close()


def host_state(browser, host):
    return browser.evaluate(
        "(document.querySelector('[data-host=\"%s\"]') || {dataset: {}})"
        ".dataset.state || null" % host)


def test_the_assets_are_static_safe_and_public(api):
    r = requests.get(api.url + '/dashboard', allow_redirects=False,
                     timeout=10)
    assert r.status_code == 301
    assert r.headers['Location'].endswith('/dashboard/')
    r = requests.get(api.url + '/dashboard/', timeout=10)
    assert r.status_code == 200 and r.headers['Content-Type'].startswith(
        'text/html')
    assert "script-src 'self'" in r.headers['Content-Security-Policy']
    assert '<script src="dashboard.js"' in r.text
    r = requests.get(api.url + '/dashboard/dashboard.js', timeout=10)
    assert r.headers['Content-Type'].startswith('text/javascript')
    assert 'innerHTML' not in r.text      # text goes in as text only
    r = requests.get(api.url + '/dashboard/secrets.yaml', timeout=10)
    assert r.status_code == 404
    r = requests.get(api.url + '/dashboard/..%2fapp.py', timeout=10)
    assert r.status_code == 404


def test_the_page_shows_the_cluster_and_a_host_turning_failed(api, browser):
    for name in ('compute-1', 'compute-2', 'compute-3'):
        api.add_host(name)
        api.add_member(name)
    api.store.put(api.store.keys.leader, 'controller-1')
    api.add_recovery('compute-9-1', 'compute-9', state='acting')

    browser.navigate(api.url + '/dashboard/')
    wait_for(lambda: browser.evaluate(
        "document.querySelectorAll('[data-host]').length") == 3, 30,
        message='the three hosts drawn')
    assert host_state(browser, 'compute-2') == 'up'
    assert browser.evaluate("document.getElementById('leader')"
                            ".textContent") == 'controller-1'
    # the open recovery is shown open, with its steps and timeline
    wait_for(lambda: browser.evaluate(
        "!!document.querySelector('[data-recovery=\"compute-9-1\"] "
        ".timeline')"), 15, message='the recovery timeline drawn')
    text = browser.evaluate("document.querySelector("
                            "'[data-recovery=\"compute-9-1\"]').innerText")
    assert 'ACTIVE on compute-2' in text and 'web-2' in text
    assert 'host compute-9 left the agents group' in text
    browser.screenshot(os.path.join(ARTIFACTS, 'cluster-up.png'))

    changed = time.monotonic()
    api.add_host('compute-2', state='failed', reason='unreachable')
    wait_for(lambda: host_state(browser, 'compute-2') == 'failed', 15,
             interval=0.05, message='compute-2 shown failed')
    shown_after = time.monotonic() - changed
    browser.screenshot(os.path.join(ARTIFACTS, 'host-failed.png'))
    # the page polls every second: one or two polls, never a refresh
    assert shown_after < 3.0, shown_after

    api.store.put(api.store.keys.brake, {'zones': {'az1': {
        'reason': '3 of 3 hosts went silent', 'hosts': []}}, 'since': 1.0})
    wait_for(lambda: browser.evaluate(
        "document.getElementById('brake').textContent") == 'ENGAGED', 15,
        message='the brake shown')
    browser.screenshot(os.path.join(ARTIFACTS, 'brake.png'))
    # this API has no cloud: capacity answers 503, which the page says
    assert 'unavailable' in browser.evaluate(
        "document.getElementById('capacity').textContent")
    errors = [e for e in browser.errors
              if not (e.startswith('network:') and '/v1/capacity' in e)]
    assert errors == [], errors


def test_an_unreachable_api_is_said_not_thrown(api, browser):
    browser.navigate(api.url + '/dashboard/')
    wait_for(lambda: (browser.evaluate(
        "(document.getElementById('updated') || {}).textContent") or ''
    ).startswith('updated'), 30, message='a first poll')
    api.close()
    wait_for(lambda: 'cannot read the API' in (browser.evaluate(
        "document.getElementById('error').textContent") or ''), 15,
        message='the error shown')
    # fetch failures are expected here: only script errors count
    assert not [e for e in browser.errors if e.startswith(('exception',
                                                            'console'))]


def test_behind_keystone_the_page_asks_for_a_token(kapi, lab, browser):
    """The page is public, its data is not: without a token it shows the
    sign-in form; with an admin's token the hosts; with a project member's
    only what the policy gives it (its recoveries), saying so."""
    kapi.add_host('compute-1')
    assert requests.get(kapi.url + '/dashboard/', timeout=10).status_code \
        == 200
    assert requests.get(kapi.url + '/v1/status', timeout=10).status_code \
        == 401
    browser.navigate(kapi.url + '/dashboard/')
    wait_for(lambda: browser.evaluate(
        "!!document.getElementById('login') && "
        "!document.getElementById('login').hidden"), 30,
        message='the sign-in form shown')

    def sign_in(token):
        browser.evaluate("document.getElementById('token').value = %r; "
                         "document.getElementById('login-form')"
                         ".requestSubmit(); true" % token)

    sign_in(lab.keystone.issue_token('demo', 'demo'))
    wait_for(lambda: browser.evaluate(
        "!!document.querySelector('#hosts [data-forbidden]')"), 30,
        message='the hosts said not shown to a member')
    assert browser.evaluate("document.getElementById('login').hidden")
    assert host_state(browser, 'compute-1') is None
    browser.screenshot(os.path.join(ARTIFACTS, 'keystone-member.png'))

    sign_in(lab.keystone.issue_token('admin', 'admin'))
    wait_for(lambda: host_state(browser, 'compute-1') == 'up', 30,
             message='the hosts shown with an admin token')
    browser.screenshot(os.path.join(ARTIFACTS, 'keystone-admin.png'))
    assert not [e for e in browser.errors if e.startswith(('exception',
                                                            'console'))]
