"""Multi-objective bookkeeping: dominance, hypervolume, fronts and constraints.

`dominance.py` (front masks, non-dominated sorting) and `hypervolume_kernel.py` (exact
hypervolume) work on minimised arrays; `fronts.py` is the boundary that takes the user's
directions and builds the pareto.json summary; `tracker.py` keeps a run's front and
hypervolume trial by trial against a fixed reference; `constraints.py` marks trials that
break a hard limit (`params <= 2e6`) infeasible. numpy only: no torch, no Ray.
"""
