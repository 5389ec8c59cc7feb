"""Federated learning runs started from the hub, and the hub's registry of the models they make."""
