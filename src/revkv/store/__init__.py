"""Backends of the Store protocol; `embedded` is the default one."""
