"""The benchmark harness's arithmetic (tests/benchmarks/harness.py): no timing here."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.benchmarks.harness import Group, Row, Target, pool


def _group(base: list[float], variant: list[float], load: float = 0.5) -> Group:
    def row(name: str, role: str, samples: list[float]) -> Row:
        return Row(name, role, 0.0, 0.0, 0.0, 0.0, samples)

    group = Group(
        "drf-get-patch",
        "GET + PATCH",
        len(base),
        40,
        [row("plain", "baseline", base), row("ours", "variant", variant)],
        Target("ours", 0.98, "ours >= 0.98x plain"),
    )
    group.extra["load_1min"] = load
    return group


def test_pool_takes_each_round_ratio_within_its_own_process() -> None:
    # Process 1 is twice as fast as process 2 for both cases; within each, ours takes
    # 1.25x plain's time. Pairing rounds across processes would give other ratios.
    fast = _group([100.0, 100.0], [125.0, 125.0])
    slow = _group([200.0, 200.0, 200.0], [250.0, 250.0, 250.0], load=0.7)

    pooled = pool([fast, slow])

    assert pooled.rounds == 5
    ours = pooled.row("ours")
    assert ours.samples_ns == [125.0, 125.0, 250.0, 250.0, 250.0]
    assert ours.ratio == pytest.approx(0.8)
    assert ours.median_ns == 250.0
    assert pooled.row("plain").ratio == 1.0
    assert pooled.target_met is False
    assert pooled.extra == {
        "load_1min": 0.7,
        "processes": 2,
        "process_ratios": {"plain": [1.0, 1.0], "ours": [0.8, 0.8]},
    }


def test_pool_refuses_groups_that_measured_different_cases() -> None:
    other = _group([100.0], [90.0])
    other.rows[1].name = "theirs"

    with pytest.raises(ValueError, match="different cases"):
        pool([_group([100.0], [90.0]), other])


def test_a_group_survives_its_json_form() -> None:
    group = _group([100.0, 110.0], [105.0, 112.0])

    again = Group.from_dict(group.as_dict())

    assert again == group
    assert again.target_met == group.target_met


def test_a_difference_row_divides_the_baseline_pairs_difference_by_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.benchmarks import harness

    clock = {"now": 0}

    def takes(duration: int) -> Callable[[int], None]:
        def op(i: int) -> None:
            clock["now"] += duration

        return op

    monkeypatch.setattr(harness.time, "perf_counter_ns", lambda: clock["now"])
    group = harness.compare(
        "orm-growth",
        "growth",
        [
            harness.Case("small", takes(10), role="baseline"),
            harness.Case("large", takes(20)),
            harness.Case("driver small", takes(2), role="reference"),
            harness.Case("driver large", takes(11), role="reference"),
        ],
        rounds=3,
        iterations=1,
        differences=(
            harness.Difference(
                "own, large",
                variant=("large", "driver large"),
                baseline=("small", "driver small"),
                baseline_name="own, small",
            ),
        ),
        target=Target("own, large", 0.9, "flat"),
    )

    assert group.row("large").ratio == pytest.approx(0.5)  # 10 / 20: the raw growth
    own = group.row("own, large")
    assert own.samples_ns == [9.0, 9.0, 9.0]  # 20 - 11 in each round
    assert own.baseline_ns == [8.0, 8.0, 8.0]  # 10 - 2
    assert own.baseline_name == "own, small"
    assert own.ratio == pytest.approx(8 / 9)
    assert group.target_met is False
    pooled = pool([group, group])
    assert pooled.row("own, large").ratio == pytest.approx(8 / 9)
    assert pooled.extra["process_ratios"]["own, large"] == [round(8 / 9, 4)] * 2
    assert Group.from_dict(pooled.as_dict()) == pooled
