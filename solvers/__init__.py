"""Solver cores for cloud-factory allocation (MathOpt) and shop scheduling (CP-SAT); pure
functions of their inputs, no database or app code."""
