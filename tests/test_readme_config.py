"""The README's Config section shows the shipped quickstart verbatim, and its extra_ops
example builds the space it describes."""
import re
from pathlib import Path

import yaml

from nas.run.config import config_from_dict
from search_spaces import get_space
from search_spaces.space import SPACES

ROOT = Path(__file__).resolve().parents[1]


def _config_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Config\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def test_config_block_is_the_shipped_quickstart():
    shipped = (ROOT / "configs" / "quickstart.yaml").read_text()
    assert _config_blocks()[0] == shipped
    config_from_dict(yaml.safe_load(shipped))


def test_extra_ops_example_builds_its_ops():
    spec = yaml.safe_load(_config_blocks()[1])["space"]
    space = get_space(spec["name"], **spec["options"])
    assert set(spec["options"]["extra_ops"]) <= set(space.ops)
    for name in SPACES.names():
        assert ("extra_ops" in SPACES.get(name).default_options()) == (name in ("darts",
                                                                               "fbnet"))
