"""YAML from users (config files, --option values, a run's config.yaml), parsed safely.

`yaml.safe_load` builds aliases as shared references, so a "billion laughs" document
loads in microseconds but expands to billions of values the moment anything walks it
(an error message's repr, a deep copy, `json.dumps`). Its expanded size is counted on
the composed node graph (memoised, so counting is linear in the document) and refused
above `MAX_VALUES`.
"""
from __future__ import annotations

from typing import Any

import yaml

from search_spaces.errors import UserError

__all__ = ["load_yaml", "MAX_VALUES"]

MAX_VALUES = 100_000


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 1  # a recursive alias counts once; sizes are summed below
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(n, sizes) for n in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes)
                       for k, v in node.value)
    else:
        size = 1
    sizes[id(node)] = min(size, MAX_VALUES + 1)
    return sizes[id(node)]


def load_yaml(text: str, where: str) -> Any:
    """The value of one YAML document; UserError naming `where` when it is not valid YAML
    or expands (through aliases) to more than MAX_VALUES values."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node, {}) > MAX_VALUES:
            raise UserError(f"{where} expands through YAML aliases (*name) to more than "
                            f"{MAX_VALUES:,} values; write the values out")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{where} is not valid YAML: {str(exc).splitlines()[0]}") from None
