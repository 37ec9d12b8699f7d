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
    # A Difference row's own baseline per round (else the group's first case), and its name.
    baseline_ns: list[float] | None = field(default=None, repr=False)
    baseline_name: str | None = None


@dataclass
class Difference:
    """A derived row: per round, what one case takes above another.

    ``variant`` and ``baseline`` are (case, subtracted case) pairs; the row's times are
    the variant pair's difference, its ratio the median over rounds of the baseline
    pair's difference over the variant pair's, both from the same round.
    """

    name: str
    variant: tuple[str, str]
    baseline: tuple[str, str]
    baseline_name: str
    role: str = "variant"


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Group:
        target = data.get("target")
        return cls(
            key=data["key"],
            title=data["title"],
            rounds=data["rounds"],
            iterations=data["iterations"],
            rows=[Row(**row) for row in data["rows"]],
            target=Target(**target) if target else None,
            notes=data.get("notes", ""),
            extra=dict(data.get("extra", {})),
        )


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ratio(base: list[float], values: list[float]) -> float:
    """The median over rounds of ``baseline / variant`` within each round."""
    return statistics.median(b / v for b, v in zip(base, values, strict=True))


def _summarise(
    name: str,
    role: str,
    values: list[float],
    base: list[float],
    own_base: list[float] | None = None,
    own_base_name: str | None = None,
) -> Row:
    return Row(
        name=name,
        role=role,
        median_ns=statistics.median(values),
        p25_ns=_quantile(values, 0.25),
        p75_ns=_quantile(values, 0.75),
        ratio=_ratio(own_base if own_base is not None else base, values),
        samples_ns=values,
        baseline_ns=own_base,
        baseline_name=own_base_name,
    )


def _difference(samples: dict[str, list[float]], pair: tuple[str, str]) -> list[float]:
    return [a - b for a, b in zip(samples[pair[0]], samples[pair[1]], strict=True)]


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
    differences: tuple[Difference, ...] = (),
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
    rows = [_summarise(case.name, case.role, samples[case.name], base) for case in cases]
    rows += [
        _summarise(
            d.name,
            d.role,
            _difference(samples, d.variant),
            base,
            _difference(samples, d.baseline),
            d.baseline_name,
        )
        for d in differences
    ]
    group = Group(key, title, rounds, iterations, rows, target, notes)
    group.extra["load_1min"] = round(os.getloadavg()[0], 2)
    print(format_group(group), flush=True)
    return group


def pool(parts: list[Group]) -> Group:
    """One group from the same group measured in several processes: all their rounds.

    Each round's ratio is still the baseline over the variant within that round (the
    samples are joined in the same order for every row); the ratios of each process
    on its own are kept in ``extra["process_ratios"]``.
    """
    first = parts[0]
    names = [row.name for row in first.rows]
    for part in parts[1:]:
        if part.key != first.key or [row.name for row in part.rows] != names:
            raise ValueError(f"{first.key}: the processes measured different cases.")
    samples = {name: [v for part in parts for v in part.row(name).samples_ns] for name in names}
    own = {
        row.name: [v for part in parts for v in part.row(row.name).baseline_ns or []]
        for row in first.rows
        if row.baseline_ns is not None
    }
    base = samples[names[0]]
    rows = [
        _summarise(
            row.name, row.role, samples[row.name], base, own.get(row.name), row.baseline_name
        )
        for row in first.rows
    ]
    group = Group(
        first.key,
        first.title,
        sum(part.rounds for part in parts),
        first.iterations,
        rows,
        first.target,
        first.notes,
    )
    group.extra["load_1min"] = parts[-1].extra.get("load_1min")
    group.extra["processes"] = len(parts)
    group.extra["process_ratios"] = {
        name: [
            round(
                _ratio(
                    part.row(name).baseline_ns or part.rows[0].samples_ns,
                    part.row(name).samples_ns,
                ),
                4,
            )
            for part in parts
        ]
        for name in names
    }
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
    per_process = group.extra.get("process_ratios")
    if per_process and group.target is not None:
        ratios = ", ".join(f"x{r:.3f}" for r in per_process[group.target.variant])
        lines.append(
            f"   {group.extra['processes']} processes, the target's ratio in each: {ratios}"
        )
    if "load_1min" in group.extra:
        lines.append(f"   load average (1 min) at the end: {group.extra['load_1min']}")
    return "\n".join(lines)
