"""The HTTP door: Starlette routes over the Service."""
