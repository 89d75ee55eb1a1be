"""Sphinx configuration of the VMR documentation (``tox -e docs``)."""

project = 'VMR'
copyright = 'The VMR developers'
extensions = ['oslo_config.sphinxext']
master_doc = 'index'
exclude_patterns = ['build', 'benchmarks/*.json']
html_theme = 'alabaster'
suppress_warnings = []
