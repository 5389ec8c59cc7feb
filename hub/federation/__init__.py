"""Node federation: the registry of regional and industry nodes, their registration and liveness."""
