"""The audit trail for readers: the node's audit log narrowed to a factory, an order or a device
(a read model over audit, factories, devices and orders)."""
