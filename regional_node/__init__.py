"""A regional or industry node: the "N" of 1+N, serving the factories that join it."""
