"""Pyomo formulations of the compute-capacity planning MILP, one module per kind of capacity source."""
