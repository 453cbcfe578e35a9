"""Rebuild a search's strategy and in-flight trials from the run folder, exactly.

The trial log is the state: each record carries the strategy asks made since the previous
record ("asks": [{"tid", "key", "genotype"}], tid None for an ask the driver discarded as
a duplicate of an in-flight genotype and withdrew with `Strategy.cancel`; "batch": k on
the first of k asks made by one `Strategy.ask_batch(k)` call), and records
are told in log order. Strategies are deterministic functions of their asks, tells and
withdrawals (their RNG is derived from (seed, n_asked)), so replaying them in that order
rebuilds the strategy; a snapshot (state.json: strategy state after `records` records
plus the asks made since) only shortens the replay. Asks made after the last record and
after the snapshot were never durable; they are simply asked again, and give the same
genotypes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from nas.strategies.base import Strategy
from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from search_spaces.space import Space
from trainers.metrics import Metrics

__all__ = ["Restored", "restore", "snapshot", "pending_asks", "SNAPSHOT_VERSION"]

SNAPSHOT_VERSION = 2


@dataclass
class Restored:
    """What the driver continues from."""

    pending: dict[int, Genotype] = field(default_factory=dict)  # tid -> genotype to rerun
    unlogged: list[dict[str, Any]] = field(default_factory=list)  # asks not in any record
    next_id: int = 0
    replayed_asks: int = 0
    diverged: str | None = None  # first replay mismatch, if the strategy is not deterministic


def snapshot(strategy: Strategy, records: Sequence[Mapping[str, Any]],
             unlogged: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The state.json content after the told `records` and the `unlogged` asks."""
    return {"version": SNAPSHOT_VERSION, "strategy": strategy.state_dict(),
            "records": len(records), "last_key": records[-1]["key"] if records else None,
            "unlogged": list(unlogged)}


def _usable(state: Mapping[str, Any] | None, records: Sequence[Mapping[str, Any]]) -> bool:
    """A snapshot of this log: same version, not ahead of it, same last told trial."""
    if state is None or state.get("version") != SNAPSHOT_VERSION:
        return False
    n = int(state.get("records", -1))
    return 0 <= n <= len(records) and state.get("last_key") == (records[n - 1]["key"] if n
                                                                else None)


def pending_asks(records: Sequence[Mapping[str, Any]],
                 state: Mapping[str, Any] | None) -> dict[int, dict[str, Any]]:
    """Asks with a trial id whose trial has no record yet (running or lost with the driver)."""
    asks: dict[int, dict[str, Any]] = {}
    for record in records:
        for ask in record.get("asks", ()):
            if ask["tid"] is not None:
                asks[int(ask["tid"])] = ask
    if _usable(state, records) and int(state["records"]) == len(records):
        asks.update({int(a["tid"]): a for a in state["unlogged"] if a["tid"] is not None})
    finished = {int(r["trial_id"]) for r in records}
    return {tid: a for tid, a in asks.items() if tid not in finished}


def _replay_asks(strategy: Strategy, asks: Sequence[Mapping[str, Any]],
                 result: Restored) -> None:
    """Ask again as the driver did: an entry with "batch": k opens one `ask_batch(k)`
    call covering it and the next k - 1 entries; withdraw the asks it discarded."""
    i = 0
    while i < len(asks):
        k = int(asks[i].get("batch", 1))
        group = asks[i:i + k]
        asked = strategy.ask_batch(k) if k > 1 else [strategy.ask()]
        for ask, genotype in zip(group, asked):
            result.replayed_asks += 1
            if genotype.key != ask["key"] and result.diverged is None:
                result.diverged = (f"replayed ask {result.replayed_asks} gave {genotype.key}, "
                                   f"the log says {ask['key']}")
            if ask["tid"] is None:  # the driver discarded it (in flight) and withdrew it
                strategy.cancel(genotype)
        i += k


def restore(strategy: Strategy, space: Space, records: Sequence[Mapping[str, Any]],
            state: Mapping[str, Any] | None) -> Restored:
    """Load the snapshot (if usable) into `strategy`, replay the records after it, and
    return the trials to rerun."""
    start, unlogged = 0, []
    if _usable(state, records):
        strategy.load_state_dict(state["strategy"])
        start, unlogged = int(state["records"]), list(state["unlogged"])
    result = Restored()
    for i in range(start, len(records)):
        asks = list(records[i].get("asks", ()))
        if i == start and unlogged:
            if [a["key"] for a in asks[:len(unlogged)]] != [a["key"] for a in unlogged]:
                raise UserError("state.json does not match trials.jsonl; refusing to resume "
                                "(nothing was overwritten; delete state.json to replay the log)")
            asks = asks[len(unlogged):]
        _replay_asks(strategy, asks, result)
        record = records[i]
        genotype = space.validate(Genotype.from_dict(record["genotype"]))
        strategy.tell(genotype, Metrics.from_dict(record["metrics"]))
    result.unlogged = unlogged if start == len(records) else []
    result.pending = {tid: space.validate(Genotype.from_dict(a["genotype"]))
                      for tid, a in sorted(pending_asks(records, state).items())}
    known = [int(r["trial_id"]) for r in records] + list(result.pending)
    known += [int(a["tid"]) for a in result.unlogged if a["tid"] is not None]
    result.next_id = max(known, default=-1) + 1
    return result
