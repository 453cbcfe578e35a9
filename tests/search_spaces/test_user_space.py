"""Your own space: a Space subclass referenced as "module:Class" or registered, with the
same sampling, mutation, encoding, validation and description as the built-in spaces."""
from __future__ import annotations

import numpy as np
import pytest

from search_spaces import Decision, Space, get_space
from search_spaces.errors import UserError
from search_spaces.space import SPACES, register_user_space
from tests.user_code_helpers import write_user_module


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    write_user_module(tmp_path)
    return tmp_path


def test_a_referenced_space_samples_mutates_encodes_and_describes(user_module):
    space = get_space("my_problem:TinyConvNet", num_classes=3)
    rng = np.random.default_rng(0)
    genotypes = [space.sample(rng) for _ in range(20)]
    assert {g.space for g in genotypes} == {"tinyconv"}
    child = space.mutate(genotypes[0], rng)
    assert sum(a != b for a, b in zip(child.decisions, genotypes[0].decisions)) == 1
    assert space.encode(child).sum() == 3 and len(space.encode(child)) == 3 + 2 + 2
    info = space.describe(space.genotype({"width": 8, "depth": 1, "kernel": 3}))
    assert info["params"] == 1 * 8 * 9 + 8 + 8 * 3 + 3 and info["space"] == "tinyconv"
    with pytest.raises(UserError, match="choice for tinyconv decision 'width'"):
        space.genotype({"width": 5, "depth": 1, "kernel": 3})
    with pytest.raises(UserError, match="option of space 'tinyconv'"):
        get_space("my_problem:TinyConvNet", channels=3)


def test_a_reference_that_is_not_a_usable_space_is_refused(user_module):
    (user_module / "my_bad_spaces.py").write_text(
        "from search_spaces import Space\n"
        "class NoName(Space):\n"
        "    def decisions(self): return []\n"
        "    def build(self, g): return None\n"
        "class NoBuild(Space):\n"
        "    name = 'nobuild'\n"
        "    def decisions(self): return []\n"
        "NOT_A_CLASS = 3\n")
    for ref, match in (("my_bad_spaces:NoName", "set the class attribute `name`"),
                       ("my_bad_spaces:NoBuild", "does not implement build"),
                       ("my_bad_spaces:NOT_A_CLASS", "not a subclass of search_spaces.Space")):
        with pytest.raises(UserError, match=match):
            get_space(ref)


def test_a_registered_space_is_found_by_name_and_a_builtin_name_is_refused():
    class Registered(Space):
        name = "test_user_registered"

        def decisions(self):
            return [Decision("a", (1, 2))]

        def build(self, genotype):
            raise NotImplementedError

    register_user_space(Registered)
    assert get_space("test_user_registered").decisions()[0].choices == (1, 2)
    assert SPACES.is_user("test_user_registered")
    Registered.name = "nb201"
    with pytest.raises(UserError, match="'nb201' is built in"):
        register_user_space(Registered)
