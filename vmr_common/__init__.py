"""Code shared by the VMR agent, coordinator, client and lab."""

__version__ = '0.1.0'
