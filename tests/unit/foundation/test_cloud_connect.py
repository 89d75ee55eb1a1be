"""The coordinator's openstacksdk connection carries the configured Nova
microversion (openstacksdk drops ``compute_api_version`` given next to a
ready config, so it must go into the region's config)."""

import os

from oslo_config import cfg
import yaml

from vmr_common.conf import cloud as cloud_conf
from vmr_coordinator import cloud


def _conf(tmp_path, microversion):
    path = os.path.join(str(tmp_path), 'clouds.yaml')
    with open(path, 'w') as fh:
        yaml.safe_dump({'clouds': {'vmr': {
            'auth': {'auth_url': 'http://127.0.0.1:9/v3', 'username': 'u',
                     'password': 'p', 'project_name': 'p',
                     'user_domain_name': 'Default',
                     'project_domain_name': 'Default'},
            'region_name': 'RegionOne'}}}, fh)
    conf = cfg.ConfigOpts()
    cloud_conf.register_opts(conf)
    conf([], project='vmr-test')
    conf.set_override('cloud', 'vmr', 'cloud')
    conf.set_override('clouds_yaml', path, 'cloud')
    conf.set_override('compute_microversion', microversion, 'cloud')
    return conf


def test_connection_pins_the_configured_microversion(tmp_path):
    for version in ('2.95', '2.60'):
        conn = cloud.connect(_conf(tmp_path, version))
        assert conn.config.get_api_version('compute') == version
