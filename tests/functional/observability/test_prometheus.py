"""The shipped alert rules and Grafana dashboard, checked by Prometheus's
own promtool (Debian 12's prometheus package): valid PromQL, unit-tested
alerts, and only series /metrics really serves."""

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from vmr_coordinator import metrics

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..')
RULES = os.path.join(ROOT, 'etc', 'prometheus', 'vmr-alerts.yml')
RULE_TESTS = os.path.join(ROOT, 'etc', 'prometheus', 'tests',
                          'vmr-alerts-test.yml')
DASHBOARD = os.path.join(ROOT, 'etc', 'grafana', 'vmr-dashboard.json')
PROMTOOL = shutil.which('promtool') or '/usr/bin/promtool'

needs_promtool = pytest.mark.skipif(
    not os.access(PROMTOOL, os.X_OK),
    reason='promtool is not installed (Debian package prometheus; '
           'tools/run-tests.sh installs it)')

#: series Prometheus itself makes, or a histogram's parts
OTHER = {'up'}


def promtool(*args):
    proc = subprocess.run([PROMTOOL, *args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def served():
    names = set(OTHER)
    for name, kind, _labels, _doc in metrics.describe():
        names.add(name)
        if kind == 'histogram':
            names.update(name + s for s in ('_bucket', '_sum', '_count'))
    return names


def rule_exprs():
    with open(RULES, encoding='utf-8') as handle:
        doc = yaml.safe_load(handle)
    return [rule['expr'] for group in doc['groups'] for rule in group['rules']]


def dashboard_exprs():
    with open(DASHBOARD, encoding='utf-8') as handle:
        doc = json.load(handle)
    return [t['expr'] for p in doc['panels'] for t in p.get('targets', [])]


def series_in(expr):
    return set(re.findall(r'\b(vmr_[a-z_]+|up)\b', expr))


@pytest.mark.parametrize('exprs', [rule_exprs, dashboard_exprs],
                         ids=['rules', 'dashboard'])
def test_only_served_series_are_used(exprs):
    used = set().union(*(series_in(e) for e in exprs()))
    assert used, 'no VMR series found'
    assert used <= served(), 'not served by /metrics: %s' % sorted(
        used - served())


@needs_promtool
def test_rules_are_valid_and_their_unit_tests_pass():
    assert 'SUCCESS' in promtool('check', 'rules', RULES)
    assert 'SUCCESS' in promtool('test', 'rules', RULE_TESTS)


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path):
    # promtool parses recording rules' expressions: one per panel target
    rules = {'groups': [{'name': 'dashboard', 'rules': [
        {'record': 'vmr:dashboard:%d' % i, 'expr': expr}
        for i, expr in enumerate(dashboard_exprs())]}]}
    path = tmp_path / 'dashboard-rules.yml'
    path.write_text(yaml.safe_dump(rules))
    assert 'SUCCESS' in promtool('check', 'rules', str(path))


def test_every_alert_says_what_to_do():
    with open(RULES, encoding='utf-8') as handle:
        doc = yaml.safe_load(handle)
    for group in doc['groups']:
        for rule in group['rules']:
            assert rule['labels']['severity'] in ('warning', 'critical')
            assert rule['annotations']['summary']
            assert len(rule['annotations']['description']) > 60, rule['alert']
