"""Candidate pools for acquisition maximisation over a categorical space.

Genotypes are handled as choice-index rows so thousands of candidates cost microseconds;
`Encoder.onehot` equals `Space.encode`, and the row operators match `Space.neighbours`,
`Space.mutate` and `Space.sample` (tests check this). A pool mixes local moves around the
best genotypes (all neighbours, two-step mutations) with uniform samples, as in BANANAS
(White et al. 2021, AAAI, Sec. 4: mutations of the best architectures) and the
local-plus-global acquisition search of CASMOPOLITAN (Wan et al. 2021, ICML).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from search_spaces.space import Space

__all__ = ["Encoder", "candidate_pool", "neighbour_rows", "mutate_rows"]

_MEMO_ROWS = 200_000  # canonical forms remembered per encoder (a few tens of MB at most)


class Encoder:
    """Genotype <-> choice-index row <-> one-hot row for one space."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.decisions = list(space.decisions())
        self.sizes = np.array([len(d.choices) for d in self.decisions])
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self._index = [{c: i for i, c in enumerate(d.choices)} for d in self.decisions]
        # odd 64-bit multipliers, fixed: the same rows hash alike in every process
        self._multipliers = np.random.default_rng(0x5EED).integers(
            0, 2**63, len(self.decisions), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._memo: dict[tuple[int, ...], tuple[tuple[int, ...], str | None]] = {}
        self._counts = _count_matrix(self.decisions, self.offsets, self.width)

    @property
    def width(self) -> int:
        return int(self.sizes.sum())

    def row(self, genotype: Genotype) -> tuple[int, ...]:
        """Choice indices of a genotype."""
        values = genotype.as_mapping()
        return tuple(idx[values[d.name]] for d, idx in zip(self.decisions, self._index))

    def rows(self, genotypes: Iterable[Genotype]) -> np.ndarray:
        return np.array([self.row(g) for g in genotypes], dtype=np.int64).reshape(
            -1, len(self.decisions))

    def keys(self, rows: np.ndarray) -> np.ndarray:
        """A uint64 hash per index row (n, decisions), fast to sort and compare. Distinct
        rows collide with chance ~n^2 / 2^64; a collision only drops a candidate."""
        return (rows.astype(np.uint64) * self._multipliers).sum(axis=1, dtype=np.uint64)

    def onehot(self, rows: np.ndarray) -> np.ndarray:
        """(n, width) one-hot matrix of (n, decisions) index rows, as `Space.encode`."""
        return self.features(rows, "onehot")

    def features(self, rows: np.ndarray, kind: str = "onehot",
                 dtype: type = np.float64) -> np.ndarray:
        """GP inputs of index rows, in one (n, columns) buffer: the one-hot matrix; for
        `kind` "counts" followed by the share of each choice among the decisions that
        offer the same choices (how many of a cell's edges are 3x3 convolutions): op
        counts, strong predictor inputs on NAS-Bench-201 (White et al. 2021, "How
        Powerful are Performance Predictors in NAS?", NeurIPS)."""
        extra = self._counts.shape[1] if kind == "counts" else 0
        out = np.zeros((len(rows), self.width + extra), dtype=dtype)
        if len(rows):
            out[np.arange(len(rows))[:, None], self.offsets[None, :] + rows] = 1.0
            if extra:
                np.matmul(out[:, :self.width], self._counts.astype(dtype),
                          out=out[:, self.width:])
        return out

    def genotype(self, row: Sequence[int]) -> Genotype:
        return self.space.genotype({d.name: d.choices[int(i)]
                                    for d, i in zip(self.decisions, row)})

    def distinct_functions(self, rows: np.ndarray, seen: set[str]) -> np.ndarray:
        """`rows` pruned (`Space.prune`), one per function (`Space.function_key`), none whose
        function is in `seen`, in first-seen order; unchanged in spaces without equivalents."""
        if not self.space.has_equivalents:
            return rows
        chosen: dict[str, tuple[int, ...]] = {}
        for row in map(tuple, rows.tolist()):
            pruned, key = self._canonical(row)
            if key is not None and key not in seen:
                chosen.setdefault(key, pruned)
        return np.array(list(chosen.values()), dtype=np.int64).reshape(-1, len(self.decisions))

    def _canonical(self, row: tuple[int, ...]) -> tuple[tuple[int, ...], str | None]:
        """(pruned row, function key) of a row, memoised; key None for a forbidden row."""
        hit = self._memo.get(row)
        if hit is None:
            if len(self._memo) >= _MEMO_ROWS:
                self._memo.clear()
            try:
                genotype = self.space.prune(self.genotype(row))
                hit = (self.row(genotype), self.space.function_key(genotype))
            except UserError:
                hit = (row, None)
            self._memo[row] = hit
        return hit

    def random_rows(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n uniform rows: what `Space.sample` draws, vectorised."""
        return rng.integers(0, self.sizes[None, :], size=(n, len(self.sizes)))


def _count_matrix(decisions, offsets: np.ndarray, width: int) -> np.ndarray:
    """(width, k) map from one-hot columns to choice shares: one column per choice of each
    group of two or more decisions with identical choices, 1 / group size where a
    decision of the group takes that choice."""
    groups: dict[tuple, list[int]] = {}
    for j, d in enumerate(decisions):
        groups.setdefault(tuple(d.choices), []).append(j)
    columns = []
    for choices, members in groups.items():
        if len(members) < 2:
            continue
        for c in range(len(choices)):
            col = np.zeros(width)
            col[[int(offsets[j]) + c for j in members]] = 1.0 / len(members)
            columns.append(col)
    return np.column_stack(columns) if columns else np.zeros((width, 0))


def neighbour_rows(encoder: Encoder, row: Sequence[int]) -> np.ndarray:
    """Every row one decision away from `row` (the rows of `Space.neighbours`)."""
    out = []
    for j, size in enumerate(encoder.sizes.tolist()):
        for choice in range(size):
            if choice != row[j]:
                moved = list(row)
                moved[j] = choice
                out.append(moved)
    return np.array(out, dtype=np.int64).reshape(-1, len(encoder.sizes))


def mutate_rows(encoder: Encoder, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row with one decision changed to a different choice (`Space.mutate`, vectorised)."""
    rows = rows.copy()
    mutable = np.flatnonzero(encoder.sizes > 1)
    where = mutable[rng.integers(len(mutable), size=len(rows))]
    sizes = encoder.sizes[where]
    shift = rng.integers(1, sizes)  # 1..size-1 steps round the choices: never the same one
    rows[np.arange(len(rows)), where] = (rows[np.arange(len(rows)), where] + shift) % sizes
    return rows


def candidate_pool(encoder: Encoder, top: np.ndarray, rng: np.random.Generator,
                   mutations: int, n_random: int, exclude: np.ndarray) -> np.ndarray:
    """Unique index rows, none among the `exclude` rows (or `Encoder.keys` of rows), in
    first-seen order: every neighbour of each `top` row, then `mutations` two-step
    mutations of each, then `n_random` uniform rows."""
    parts = [neighbour_rows(encoder, row) for row in top.tolist()]
    if mutations and len(top):
        parents = np.repeat(top, mutations, axis=0)
        parts.append(mutate_rows(encoder, mutate_rows(encoder, parents, rng), rng))
    parts.append(encoder.random_rows(rng, n_random))
    rows = np.concatenate(parts)
    keys = encoder.keys(rows)
    _, first = np.unique(keys, return_index=True)
    first.sort()
    excluded = exclude if exclude.ndim == 1 else encoder.keys(exclude)
    return rows[first[~np.isin(keys[first], excluded)]]
