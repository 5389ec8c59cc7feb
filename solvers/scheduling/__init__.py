"""Production scheduling: shop scheduling with CP-SAT (and, with #5, orders and allocation)."""
