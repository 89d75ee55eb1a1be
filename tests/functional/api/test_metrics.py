"""/metrics: Prometheus text that prometheus_client's parser reads back."""

from prometheus_client.parser import text_string_to_metric_families

from vmr_coordinator import metrics


def scrape(api):
    r = api.get('/metrics')
    assert r.status_code == 200
    assert r.headers['Content-Type'].startswith('text/plain')
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples


def test_metrics_parse_and_count_the_cluster(api):
    api.add_host('compute-1')
    api.add_host('compute-2', state='failed')
    api.add_member('compute-1')
    api.add_recovery('r-1', 'compute-2', state='acting')
    api.post('/v1/pause', {'reason': 'test'})
    api.store.put(api.store.keys.brake, {'zones': {}, 'since': 1.0})
    before = scrape(api)[('vmr_detection_seconds_count', ())]
    metrics.observe_detection(4.2)
    metrics.observe_fence(3.0)
    metrics.observe_action(42.0)
    s = scrape(api)
    assert s[('vmr_hosts', (('state', 'up'),))] == 1
    assert s[('vmr_hosts', (('state', 'failed'),))] == 1
    assert s[('vmr_hosts', (('state', 'fenced'),))] == 0
    assert s[('vmr_recoveries', (('state', 'acting'),))] == 1
    assert s[('vmr_agents_live', ())] == 1
    assert s[('vmr_paused', ())] == 1
    assert s[('vmr_brake_engaged', ())] == 1
    assert s[('vmr_leader', ())] == 0
    assert s[('vmr_etcd_up', ())] == 1
    assert ('vmr_cycle_seconds', ()) in s
    assert s[('vmr_detection_seconds_count', ())] == before + 1
    assert s[('vmr_detection_seconds_bucket', (('le', '5.0'),))] >= 1
    assert s[('vmr_fence_seconds_count', ())] >= 1
    assert s[('vmr_action_seconds_count', ())] >= 1
