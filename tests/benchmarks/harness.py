"""A/B timing: every variant interleaved with its baseline call by call, medians of rounds.

Each round makes ``iterations`` calls of every case, interleaved: call ``i`` of every
case, then call ``i + 1`` of every case, in forward order on even rounds and reverse
order on odd rounds. Only the call itself is timed (a case's ``context`` is entered and
left around each call, untimed). So a burst of load from other processes, or slow drift
of the machine, lands on every case alike. The figure kept per round is nanoseconds per
call; the report is the median over rounds, and the "throughput ratio": the median over
rounds of ``baseline / variant`` within each round (above 1 is faster).
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Case:
    """One thing to time: ``op(i)`` for i in range(iterations), after ``setup(iterations)``."""

    name: str
    op: Callable[[int], object]
    setup: Callable[[int], object] | None = None
    role: str = "variant"  # "baseline", "variant", "anchor" or "reference"
    context: Callable[[], AbstractContextManager[object]] | None = None  # around each call


@dataclass
class Row:
    name: str
    role: str
    median_ns: float
    p25_ns: float
    p75_ns: float
    ratio: float  # median over rounds of baseline / this: throughput relative to baseline
    samples_ns: list[float] = field(repr=False)


@dataclass
class Target:
    variant: str
    min_ratio: float
    text: str


@dataclass
class Group:
    key: str
    title: str
    rounds: int
    iterations: int
    rows: list[Row]
    target: Target | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)

    @property
    def target_met(self) -> bool | None:
        if self.target is None:
            return None
        return self.row(self.target.variant).ratio >= self.target.min_ratio

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_met"] = self.target_met
        return data


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _time_round(cases: list[Case], iterations: int) -> dict[str, float]:
    """Nanoseconds per call of each case, the cases' calls interleaved one by one."""
    for case in cases:
        if case.setup is not None:
            case.setup(iterations)
    totals = dict.fromkeys((case.name for case in cases), 0)
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for i in range(iterations):
            for case in cases:
                op = case.op
                if case.context is None:
                    start = clock()
                    op(i)
                    totals[case.name] += clock() - start
                else:
                    with case.context():
                        start = clock()
                        op(i)
                        totals[case.name] += clock() - start
    finally:
        gc.enable()
    return {name: total / iterations for name, total in totals.items()}


def compare(
    key: str,
    title: str,
    cases: list[Case],
    *,
    rounds: int,
    iterations: int,
    warmup_rounds: int = 1,
    target: Target | None = None,
    notes: str = "",
) -> Group:
    """Time ``cases`` (the first is the baseline) interleaved, and summarise them."""
    if not cases or cases[0].role != "baseline":
        raise ValueError(f"{key}: the first case must be the baseline.")
    samples: dict[str, list[float]] = {case.name: [] for case in cases}
    for number in range(warmup_rounds + rounds):
        order = cases if number % 2 == 0 else list(reversed(cases))
        per_call = _time_round(order, iterations)
        if number >= warmup_rounds:
            for name, value in per_call.items():
                samples[name].append(value)
    base = samples[cases[0].name]
    rows = []
    for case in cases:
        values = samples[case.name]
        rows.append(
            Row(
                name=case.name,
                role=case.role,
                median_ns=statistics.median(values),
                p25_ns=_quantile(values, 0.25),
                p75_ns=_quantile(values, 0.75),
                ratio=statistics.median(b / v for b, v in zip(base, values, strict=True)),
                samples_ns=values,
            )
        )
    group = Group(key, title, rounds, iterations, rows, target, notes)
    group.extra["load_1min"] = round(os.getloadavg()[0], 2)
    print(format_group(group), flush=True)
    return group


def format_group(group: Group) -> str:
    lines = [f"== {group.title} ({group.rounds} rounds x {group.iterations})"]
    for row in group.rows:
        lines.append(
            f"   {row.name:<34} {row.median_ns / 1000:>10.1f} us"
            f"  [{row.p25_ns / 1000:.1f}-{row.p75_ns / 1000:.1f}]  x{row.ratio:.3f}"
        )
    if group.target is not None:
        verdict = "met" if group.target_met else "MISSED"
        lines.append(f"   target: {group.target.text} -> {verdict}")
    if "load_1min" in group.extra:
        lines.append(f"   load average (1 min) at the end: {group.extra['load_1min']}")
    return "\n".join(lines)
