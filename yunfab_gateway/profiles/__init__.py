"""Ready-made mappings for common machines, as data: a connector names one with `profile = ...`
and its points are added to the connector's own (docs/gateway.md)."""
