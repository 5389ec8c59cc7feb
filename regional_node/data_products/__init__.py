"""The node's data products at the hub's data exchange: what they hold, and how they get there."""
