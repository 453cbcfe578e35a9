"""Search spaces and the op library: genotypes, spaces, ops, networks."""
from __future__ import annotations

from .errors import UserError
from .genotype import Genotype
from .space import Decision, Space, get_space, list_spaces, register_space

__all__ = ["Decision", "Genotype", "Space", "UserError", "build", "describe", "get_space",
           "list_spaces", "register_space"]


def build(space: str, genotype: Genotype | dict, **options):
    """Build the torch module of `genotype` in `space` with space `options`."""
    sp = get_space(space, **options)
    geno = genotype if isinstance(genotype, Genotype) else Genotype.from_dict(genotype)
    return sp.build(geno)


def describe(space: str, arch: str, **options) -> dict:
    """Describe `arch` (preset, arch string or genotype JSON) in `space`; a preset gets
    the options it implies (e.g. FBNet-A's head width) under the given `options`."""
    sp, geno = get_space(space, **options).resolve(arch)
    return sp.describe(geno)
