"""Federated learning of defect models with Flower: ServerApp at the hub, ClientApp per node (#7)."""
