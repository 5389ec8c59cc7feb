"""The hub: the "1" of 1+N. Node federation, data exchange, knowledge market, identity."""
