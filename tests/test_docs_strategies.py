"""docs/strategies.md names every registered strategy and documents each of bo's options
with its actual default."""
import re
from pathlib import Path

from nas.strategies.base import STRATEGIES
from nas.strategies.bo import BayesOpt

DOC = (Path(__file__).resolve().parents[1] / "docs" / "strategies.md").read_text()


def test_every_registered_strategy_is_listed():
    listed = set(re.findall(r"^\| `([a-z_0-9]+)`", DOC, flags=re.M))
    listed |= set(re.findall(r"^\| `[a-z]+`, `([a-z]+)`", DOC, flags=re.M))
    missing = set(STRATEGIES.names()) - listed - {"spos_evolution"}  # spos's inner search
    assert not missing


def test_every_bo_option_is_documented_with_its_default():
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", DOC, flags=re.M))
    for key, default in BayesOpt.defaults.items():
        assert key in rows, key
        shown = rows[key].strip().strip("`")
        assert shown == str(default), (key, shown, default)
