"""Federated learning of defect models with Flower.

A ServerApp beside the hub and a ClientApp in each node (issue #7).
"""
