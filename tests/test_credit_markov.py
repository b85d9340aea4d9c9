"""Markov credit: exact removal effects against an independent path enumeration (issue #5)."""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from truefans.credit import InvalidJourneys, from_lists, from_paths, markov_credit, removal_effects

PATHS = ["a>b", "b", "a>c>b", "c", "a>a>c", "c>a"]
CONV = [3, 1, 2, 0, 1, 2]
NULL = [2, 4, 1, 5, 3, 1]


def enumerate_conversion(paths, conv, null, removed: str | None, depth: int = 60) -> float:
    """P(conversion) of the first-order chain by summing path probabilities up to ``depth`` steps."""
    trans: dict[str, dict[str, float]] = {}
    for p, c, n in zip(paths, conv, null, strict=True):
        seq = ["start", *p.split(">")]
        for x, y in itertools.pairwise(seq):
            trans.setdefault(x, {}).setdefault(y, 0.0)
            trans[x][y] += c + n
        trans.setdefault(seq[-1], {}).setdefault("conv", 0.0)
        trans[seq[-1]]["conv"] += c
        trans[seq[-1]].setdefault("null", 0.0)
        trans[seq[-1]]["null"] += n
    prob = {"start": 1.0}
    total = 0.0
    for _ in range(depth):
        nxt: dict[str, float] = {}
        for state, mass in prob.items():
            out = trans[state]
            tot = sum(out.values())
            for y, w in out.items():
                if y == removed:
                    continue  # removing a channel sends its traffic to null
                if y == "conv":
                    total += mass * w / tot
                elif y != "null":
                    nxt[y] = nxt.get(y, 0.0) + mass * w / tot
        prob = nxt
    return total


def test_first_order_removal_effects_equal_enumeration() -> None:
    j = from_paths(PATHS, CONV, NULL)
    re, _, p, _ = removal_effects(j, 1)
    base = enumerate_conversion(PATHS, CONV, NULL, None)
    assert p == pytest.approx(base, abs=1e-12)
    for name, got in zip(j.channels, re, strict=True):
        want = 1 - enumerate_conversion(PATHS, CONV, NULL, name) / base
        assert got == pytest.approx(want, abs=1e-12), name


def test_credit_is_removal_share_of_conversions() -> None:
    j = from_paths(PATHS, CONV, NULL, value=[30, 10, 20, 0, 5, 8])
    c = markov_credit(j, 1)
    re, _, _, _ = removal_effects(j, 1)
    assert c.conversions[:-1] == pytest.approx(re / re.sum() * sum(CONV))
    assert c.conversions.sum() == pytest.approx(sum(CONV))
    assert c.value.sum() == pytest.approx(73.0)


def test_higher_order_states_and_exactness() -> None:
    # order 2 on a chain where first order is wrong: b converts only after a
    j = from_lists([["a", "b"], ["c", "b"]], [1, 0], [0, 1])
    first = markov_credit(j, 1)
    second = markov_credit(j, 2)
    # order 2 knows c>b never converts: c gets nothing; first order shares b's rate with c
    assert dict(zip(second.labels, second.conversions, strict=True))["c"] == pytest.approx(0.0)
    assert dict(zip(first.labels, first.conversions, strict=True))["c"] > 0
    # a chain of one-touch journeys is the same at every order
    one = from_lists([["a"], ["b"], ["a"]], [1, 1, 0])
    shares = [markov_credit(one, k).share for k in (1, 2, 3, 4)]
    for s in shares[1:]:
        assert s == pytest.approx(shares[0])
    with pytest.raises(InvalidJourneys, match="order"):
        markov_credit(one, 5)


def test_separator_and_unicode_names() -> None:
    j = from_lists([["a>b", "ü"], ["ü"]], [1, 0], [0, 1])
    c = markov_credit(j, 1)
    assert set(c.labels) == {"a>b", "ü", "(direct/none)"}
    assert c.conversions.sum() == pytest.approx(1.0)


PEER = (
    Path(__file__).resolve().parents[1]
    / "benchmarks"
    / "_data"
    / "attr-peer-venv"
    / "bin"
    / "python"
)


@pytest.mark.slow
@pytest.mark.skipif(not PEER.exists(), reason="channelattribution peer venv not installed")
def test_first_order_agrees_with_channelattribution(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    chans = list("abcdef")
    paths, conv, null = [], [], []
    for _ in range(400):
        k = int(rng.integers(1, 6))
        paths.append(">".join(rng.choice(chans, k)))
        conv.append(int(rng.integers(0, 5)))
        null.append(int(rng.integers(0, 10)))
    csv = tmp_path / "paths.csv"
    csv.write_text(
        "path,conv,null\n"
        + "".join(f"{p},{c},{n}\n" for p, c, n in zip(paths, conv, null, strict=True))
    )
    code = (
        "import socket, sys, json\n"
        "socket.socket = None\n"
        "import pandas as pd, ChannelAttribution as ca\n"
        "d = pd.read_csv(sys.argv[1])\n"
        "r = ca.markov_model(d, 'path', 'conv', var_null='null', order=1, verbose=False, flg_pro=False)\n"
        "print(json.dumps(dict(zip(r['channel_name'], r['total_conversions']))))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [str(PEER), "-c", code, str(csv)], capture_output=True, text=True, env=env, check=True
    )
    peer = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    ours = markov_credit(from_paths(paths, conv, null), 1)
    mine = dict(zip(ours.labels, ours.conversions, strict=True))
    total = sum(conv)
    diff = sum(abs(mine[k] - peer[k]) for k in chans) / total
    assert diff < 0.03, (mine, peer)
