"""Search spaces of other NAS libraries, each behind an optional extra.

`nni.py` wraps NNI 3.0 model spaces (`pip install "frontier-nas[nni]"`) as our `Space`;
`search_spaces.get_space` imports it by name only for space names starting with "nni:",
so the core install never imports (or needs) NNI.
"""
