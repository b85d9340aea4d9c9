"""Rule-based credit against hand-computed numbers (issue #5)."""

from __future__ import annotations

import numpy as np
import pytest

from truefans.credit import NONE, InvalidJourneys, all_rules, from_lists, from_paths, rule_credit


def credit_of(c) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in zip(c.labels, c.conversions, strict=True)}


@pytest.fixture
def journeys():
    # 1: a > b > c (lead at b); 2: a > a (repeated, no lead); 3: b, no conversion;
    # 4: no touch at all (direct/none); 5: c > b (lead at c); 6: one touch d
    return from_lists(
        [["a", "b", "c"], ["a", "a"], ["b"], [], ["c", "b"], ["d"]],
        [1, 1, 0, 1, 1, 1],
        value=[10, 20, 0, 5, 7, 100],
        ages=[[10, 5, 0], [7, 0], [0], [], [7, 0], [3]],
        lead=[1, -1, -1, -1, 0, -1],
    )


def test_first_last_linear(journeys) -> None:
    assert credit_of(rule_credit(journeys, "first")) == {
        "a": 2, "b": 0, "c": 1, "d": 1, NONE: 1,
    }  # fmt: skip
    assert credit_of(rule_credit(journeys, "last")) == {"a": 1, "b": 1, "c": 1, "d": 1, NONE: 1}
    lin = credit_of(rule_credit(journeys, "linear"))
    assert lin == pytest.approx(
        {"a": 1 / 3 + 1, "b": 1 / 3 + 1 / 2, "c": 1 / 3 + 1 / 2, "d": 1, NONE: 1}
    )
    # money follows the same weights
    val = rule_credit(journeys, "linear").value
    assert val[0] == pytest.approx(10 / 3 + 20)
    assert val[-1] == 5


def test_last_non_direct(journeys) -> None:
    got = credit_of(rule_credit(journeys, "last_non_direct", direct=["c"]))
    # journey 1 skips the direct c and credits b; 5 ends in b already
    assert got == {"a": 1, "b": 2, "c": 0, "d": 1, NONE: 1}
    only_direct = from_lists([["c", "c"]], [1], channels=["c"])
    assert credit_of(rule_credit(only_direct, "last_non_direct", direct=["c"]))["c"] == 1


def test_time_decay(journeys) -> None:
    got = credit_of(rule_credit(journeys, "time_decay", half_life_days=7.0))
    w1 = np.array([2 ** (-10 / 7), 2 ** (-5 / 7), 1.0])
    w1 /= w1.sum()
    w5 = np.array([0.5, 1.0]) / 1.5
    assert got["a"] == pytest.approx(w1[0] + 1.0, abs=1e-6)  # a > a: both touches are a
    assert got["b"] == pytest.approx(w1[1] + w5[1], abs=1e-6)
    assert got["c"] == pytest.approx(w1[2] + w5[0], abs=1e-6)
    # equal ages tie: equal weights
    tie = from_lists([["x", "y"]], [1], ages=[[2.0, 2.0]])
    assert credit_of(rule_credit(tie, "time_decay")) == {"x": 0.5, "y": 0.5, NONE: 0}


def test_position_and_w_shaped(journeys) -> None:
    pos = credit_of(rule_credit(journeys, "position"))
    # a>b>c: .4/.2/.4; a>a: .5+.5; c>b: .5/.5; d: 1
    assert pos == pytest.approx({"a": 1.4, "b": 0.7, "c": 0.9, "d": 1, NONE: 1})
    w = credit_of(rule_credit(journeys, "w_shaped"))
    # a>b>c with lead b: a third each; c>b with lead c: c holds two roles (.6 of .9), b .3;
    # a>a without lead: U-shaped; d alone: 1
    assert w == pytest.approx(
        {"a": 1 / 3 + 1, "b": 1 / 3 + 1 / 3, "c": 1 / 3 + 2 / 3, "d": 1, NONE: 1}
    )
    five = from_lists([["a", "b", "c", "d", "e"]], [1], lead=[2])
    assert credit_of(rule_credit(five, "w_shaped")) == pytest.approx(
        {"a": 0.3, "b": 0.05, "c": 0.3, "d": 0.05, "e": 0.3, NONE: 0}
    )


def test_every_rule_conserves_conversions(journeys) -> None:
    for name, c in all_rules(journeys, direct=["c"]).items():
        assert c.conversions.sum() == pytest.approx(5.0), name
        assert c.value.sum() == pytest.approx(142.0), name
        assert c.share.sum() == pytest.approx(1.0)


def test_one_touch_journeys_agree_across_rules() -> None:
    j = from_lists([["a"], ["b"], ["a"]], [1, 1, 0], lead=[0, -1, -1])
    for c in all_rules(j).values():
        assert credit_of(c) == {"a": 1, "b": 1, NONE: 0}


def test_bad_input() -> None:
    with pytest.raises(InvalidJourneys, match="after the end"):
        from_lists([["a"]], [1], ages=[[-1.0]])
    with pytest.raises(InvalidJourneys, match="unknown rule"):
        rule_credit(from_lists([["a"]], [1]), "middle")
    with pytest.raises(InvalidJourneys, match="empty channel name"):
        from_paths(["a > > b"], [1])
    with pytest.raises(InvalidJourneys, match="half-life"):
        rule_credit(from_lists([["a"]], [1]), "time_decay", half_life_days=0)


def test_channel_names_with_separator_and_unicode() -> None:
    j = from_lists([["a>b", "café ☕"], ["café ☕"]], [1, 1])
    got = credit_of(rule_credit(j, "linear"))
    assert got == {"a>b": 0.5, "café ☕": 1.5, NONE: 0}
