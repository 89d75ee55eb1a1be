"""The `vmr` commands (cliff), one module per resource."""
