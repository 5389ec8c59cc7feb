"""Shared workers across nodes: the hub relays a factory's request for a worker another node
offers, and the answer, without seeing who the worker is."""
