"""Without NNI installed, NNI spaces fail with one clear line naming the install command.

Runs everywhere: NNI's absence is real under the core install and simulated (import
blocked) where the extra is installed.
"""
import sys

import pytest

from nas.cli import main
from search_spaces import get_space
from search_spaces.errors import UserError

INSTALL = 'pip install "frontier-nas[nni]"'


@pytest.fixture
def no_nni(monkeypatch):
    monkeypatch.setitem(sys.modules, "nni", None)  # `import nni` now raises ImportError


def test_get_space_names_the_install_command(no_nni):
    with pytest.raises(UserError, match=INSTALL.replace("[", r"\[").replace("]", r"\]")):
        get_space("nni:nasbench201")


@pytest.mark.parametrize("argv", [
    ["spaces", "describe", "nni:nasbench201", "--sample", "1"],
    ["spaces", "describe", "nni:some.module:Space", "--sample", "1"],
])
def test_cli_exits_2_with_install_command(no_nni, capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and INSTALL in err and len(err.strip().splitlines()) == 1


def test_search_config_with_nni_space_exits_2(no_nni, capsys, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("space: {name: 'nni:nasbench201', options: {num_labels: 10}}\n"
                      "evaluator: train\n")
    code = main(["search", "--config", str(config), "--out", str(tmp_path / "run")])
    assert code == 2 and INSTALL in capsys.readouterr().err


def test_core_spaces_unaffected(no_nni, capsys):
    assert main(["spaces", "list", "--json"]) == 0
    assert '"nb201"' in capsys.readouterr().out
    assert "nni" not in sys.modules or sys.modules["nni"] is None
