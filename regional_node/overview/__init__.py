"""The node at a glance for its operator: a read model over factories, devices, alerts, orders
and work orders."""
