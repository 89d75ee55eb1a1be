"""Property tests: any input the model accepts renders what it says.

The golden files pin a few hand-picked configs; these generate many valid
combinations (IPv4/IPv6, VRRPv2/v3, preempt settings, auth, several peers)
and check the rendering carries each VIP and the preempt choice.  The same
strategy feeds ``keepalived -t`` in
tests/functional/keepalived/test_keepalived_accepts.py.
"""

from hypothesis import given, settings

from tests.support.keepalived_cases import configs
from vmr_keepalived import templater

@settings(max_examples=50, deadline=None, database=None)
@given(config=configs())
def test_every_valid_config_renders_its_vips_and_preempt(config):
    text = templater.KeepalivedTemplater().render_config(config)
    instance = config.instances[0]
    for vip in instance.virtual_ipaddresses:
        assert f'        {vip} dev {instance.interface}\n' in text
    assert ('nopreempt' in text) == instance.nopreempt
