"""The sample configuration comes out of oslo-config-generator with every
group (a subprocess, so here and not in the unit tier)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def test_config_generator_produces_every_group(tmp_path):
    out = tmp_path / 'vmr.conf.sample'
    subprocess.run([sys.executable, '-m', 'oslo_config.generator',
                    '--config-file',
                    os.path.join(ROOT, 'etc/vmr/vmr-config-generator.conf'),
                    '--output-file', str(out)], check=True, cwd=ROOT)
    text = out.read_text()
    for group in ('[etcd]', '[heartbeat]', '[agent]', '[coordinator]',
                  '[cloud]', '[api]'):
        assert group in text
    assert '#password = <None>' in text   # secrets have no default shown
