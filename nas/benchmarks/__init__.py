"""Strategy benchmarks on tabular data: `nb201.py` runs strategies on the full
NAS-Bench-201 table in-process (no Ray, no store) for `nas benchmark nb201`."""
