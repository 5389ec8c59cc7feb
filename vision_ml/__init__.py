"""The vision and ML library the node and federated learning share: features, anomaly models,
training, metrics, counting and privacy masking. No database, no app settings."""
