"""The edge gateway a factory runs on a small box on its own network: it reads machines over
OPC UA and Modbus, journals every reading on its own disk and publishes Sparkplug B to its
node's broker as one edge node (docs/gateway.md).

It installs light (the `gateway` extra: asyncua, pymodbus) and imports only the shared kit,
never the node: import-linter's "gateway-installs-light" contract keeps it so.
"""
