import subprocess
import sys

import pytest

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype


def test_round_trip_and_hash():
    g = Genotype("nb201", (("a", "x"), ("b", 3)))
    assert Genotype.from_json(g.to_json()) == g
    assert Genotype.from_dict(g.to_dict()).key == g.key
    assert hash(g) == hash(Genotype("nb201", {"a": "x", "b": 3}))
    assert g["b"] == 3 and g.replace(b=4)["b"] == 4 and g["b"] == 3


def test_hash_is_stable_across_processes():
    g = Genotype("nb201", (("a", "x"), ("b", 3)))
    code = ("from search_spaces.genotype import Genotype;"
            "print(Genotype('nb201', (('a', 'x'), ('b', 3))).key)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == g.key


def test_frozen():
    g = Genotype("nb201", {"a": "x"})
    with pytest.raises(AttributeError):
        g.space = "other"


@pytest.mark.parametrize("bad", [
    {"space": "nb201"},
    {"space": "nb201", "decisions": [1, 2]},
    {"space": "", "decisions": {}},
    {"space": "nb201", "decisions": {"a": 1.5}},
    {"space": "nb201", "decisions": {"a": True}},
])
def test_malformed_genotypes_raise_user_error(bad):
    with pytest.raises(UserError):
        Genotype.from_dict(bad)


def test_bad_json():
    with pytest.raises(UserError, match="not valid JSON"):
        Genotype.from_json("{nope")
