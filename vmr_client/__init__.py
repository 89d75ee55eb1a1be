"""The ``vmr`` command line: a cliff application speaking the REST API."""
