"""Shapley, the data-driven model, journeys from events, bootstrap and bad input (issue #5)."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

from truefans.credit import (
    NONE,
    bootstrap,
    build_journeys,
    data_driven_credit,
    from_lists,
    holdout_check,
    rule_credit,
    shapley_credit,
)
from truefans.credit.shapley import channel_sets, shapley_values


def brute_shapley(j):
    member, conv, count, _ = channel_sets(j)
    n = j.n_channels

    def worth(s: set[int]) -> float:
        inside = [i for i in range(len(conv)) if set(np.flatnonzero(member[i])) <= s]
        c = sum(count[i] for i in inside)
        return sum(conv[i] for i in inside) / c if c else 0.0

    phi = np.zeros(n)
    for c in range(n):
        others = [x for x in range(n) if x != c]
        for r in range(n):
            for s in itertools.combinations(others, r):
                w = factorial(r) * factorial(n - r - 1) / factorial(n)
                phi[c] += w * (worth(set(s) | {c}) - worth(set(s)))
    return phi


def test_shapley_exact_equals_definition_and_sampled_is_close() -> None:
    rng = np.random.default_rng(1)
    names = list("abcde")
    paths = [list(rng.choice(names, int(rng.integers(1, 4)))) for _ in range(60)]
    conv = rng.integers(0, 2, 60)
    j = from_lists(paths, conv, channels=names)
    phi, _, se = shapley_values(j)
    assert se is None
    assert phi == pytest.approx(brute_shapley(j), abs=1e-12)
    sampled, _, se = shapley_values(j, samples=4000, exact_max=3)
    assert se is not None
    assert np.all(np.abs(sampled - phi) <= 5 * se + 1e-9)
    c = shapley_credit(j)
    assert c.conversions.sum() == pytest.approx(conv.sum())


def test_data_driven_credits_the_channel_that_converts() -> None:
    rng = np.random.default_rng(2)
    paths, conv = [], []
    for _ in range(3000):
        has_a = rng.random() < 0.5
        p = (["a"] if has_a else []) + ["b"] * int(rng.integers(1, 3))
        paths.append(p)
        conv.append(int(rng.random() < (0.4 if has_a else 0.05)))
    j = from_lists(paths, conv, person=np.arange(3000))
    c = data_driven_credit(j)
    got = dict(zip(c.labels, c.conversions, strict=True))
    assert got["a"] > 2 * got["b"]
    assert c.conversions.sum() == pytest.approx(sum(conv))
    h = holdout_check(j)
    assert h["ok"] and h["auc"] > 0.7 and h["better_than_base_rate"]


def test_build_journeys_resets_and_windows() -> None:
    # person 0: touches a (day 0), b (day 5), outcome day 6, c (day 6, same time -> in it),
    # d (day 7) after it, outcome day 50 (d is 43 days before: outside 30 days) -> touchless;
    # then e (day 60) after the last outcome: a journey without outcome
    tp = np.array([0, 0, 0, 0, 0])
    tt = np.array([0.0, 5.0, 6.0, 7.0, 60.0])
    tc = np.array([0, 1, 2, 3, 4])
    j, outcome_of = build_journeys(
        list("abcde"), tp, tt, tc, np.array([0, 0, -1]), np.array([6.0, 50.0, 3.0]),
        np.array([10.0, 20.0, 5.0]), lookback_days=30,
    )  # fmt: skip
    paths = [
        [j.channels[c] for c in j.channel[j.offsets[i] : j.offsets[i + 1]]] for i in range(j.n)
    ]
    assert paths == [["a", "b", "c"], [], ["e"], []]
    assert list(outcome_of) == [0, 1, -1, 2]
    assert list(j.conversions) == [1, 1, 0, 1]
    assert list(j.value) == [10, 20, 0, 5]
    assert j.age_days[:3] == pytest.approx([6.0, 1.0, 0.0])
    c = rule_credit(j, "last")
    assert dict(zip(c.labels, c.conversions, strict=True))[NONE] == 2


def test_person_with_100000_touches() -> None:
    rng = np.random.default_rng(4)
    n = 100_000
    tp = np.zeros(n, dtype=np.int64)
    tt = np.sort(rng.random(n) * 365)
    tc = rng.integers(0, 3, n)
    j, _ = build_journeys(["x", "y", "z"], tp, tt, tc, np.array([0]), np.array([366.0]))
    assert j.n == 1 and j.lengths[0] == int((tt >= 336).sum())
    for name in ("first", "linear", "time_decay", "position"):
        assert rule_credit(j, name).conversions.sum() == pytest.approx(1.0)


def test_bootstrap_interval_covers_point_and_stability() -> None:
    rng = np.random.default_rng(5)
    paths = [list(rng.choice(list("abc"), int(rng.integers(1, 4)))) for _ in range(500)]
    j = from_lists(paths, rng.integers(0, 2, 500), person=np.arange(500) // 2)
    iv = bootstrap(j, lambda x: rule_credit(x, "linear"), draws=40)
    point = rule_credit(j, "linear").conversions
    assert np.all(iv.conv_low <= point + 1e-9) and np.all(point <= iv.conv_high + 1e-9)
    assert 0.8 < iv.stability <= 1.0


def test_touch_a_fraction_of_a_millisecond_after_an_outcome_is_not_in_it() -> None:
    ms = 1 / 86_400_000
    j, _ = build_journeys(
        ["a", "b"], np.array([0, 0]), np.array([1.0, 1.0 + 0.3 * ms]), np.array([0, 1]),
        np.array([0]), np.array([1.0 + 0.1 * ms]),
    )  # fmt: skip
    assert [list(j.channel[j.offsets[i] : j.offsets[i + 1]]) for i in range(j.n)] == [[0], [1]]
    assert list(j.conversions) == [1, 0]
