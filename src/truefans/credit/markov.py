"""Markov-chain credit of order 1 to 4 with exact removal effects.

The states of an order-``k`` chain are the last ``k`` channels seen (shorter at the start of a
journey), plus ``start`` and the absorbing ``conversion`` and ``null``. Transition probabilities
are the observed transition counts, each journey counted ``conversions + nulls`` times; a
journey's last state moves to ``conversion`` ``conversions`` times and to ``null`` ``nulls``
times.

The probability of conversion from ``start`` is the absorption probability of the chain, the
solution of the sparse linear system ``(I - Q) x = r`` (``Q`` transient-to-transient, ``r``
transient-to-conversion). Removing a channel sends every transition into a state that contains it
to ``null``: the same system restricted to the other states. The removal effect of a channel is
``1 - P(without it) / P``, and its share of the conversions is its removal effect over the sum of
all removal effects (the convention of Anderl et al. 2016 and of ``channelattribution``). Money
uses the same chain with value-weighted conversion transitions. Nothing is simulated.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .journeys import Credit, FloatArray, InvalidJourneys, Journeys, make_credit

MAX_ORDER = 4
#: up to this many possible states, observed states are ranked by a count table (no sort)
DENSE_STATES = 5_000_000
#: up to this many (from, to) pairs, transitions are counted in a dense table (no sort)
DENSE_TRANSITIONS = 20_000_000


def _states(j: Journeys, order: int) -> np.ndarray:
    """Per touch, an integer coding the last ``order`` channels (digits base n_channels + 1)."""
    base = j.n_channels + 1
    if order * np.log2(base) >= 62:
        raise InvalidJourneys(
            f"too many channels ({j.n_channels}) for a Markov chain of order {order}"
        )
    pos = j.position
    code = np.zeros(len(j.channel), dtype=np.int64)
    mult = 1
    for lag in range(order):
        ok = pos >= lag
        src = np.arange(len(j.channel)) - lag
        digit = np.where(ok, j.channel[np.maximum(src, 0)] + 1, 0)
        code += digit * mult
        mult *= base
    return code


def _digits(states: np.ndarray, base: int, order: int) -> np.ndarray:
    out = np.empty((len(states), order), dtype=np.int64)
    s = states.copy()
    for k in range(order):
        out[:, k] = s % base - 1
        s //= base
    return out


def transition_counts(
    j: Journeys, order: int = 1
) -> tuple[sp.csr_matrix, FloatArray, FloatArray, FloatArray, np.ndarray]:
    """(transient counts T, to-conversion counts, to-conversion value, to-null counts, states).

    Node 0 is ``start``; nodes 1.. are the observed states (their codes in ``states``).
    """
    if not 1 <= order <= MAX_ORDER:
        raise InvalidJourneys(f"Markov order must be 1 to {MAX_ORDER}, got {order}")
    lengths = j.lengths
    nonempty = lengths > 0
    code = _states(j, order)
    space = (j.n_channels + 1) ** order
    if space <= DENSE_STATES:
        # every possible state has a slot: rank the observed ones without sorting the touches
        seen = np.bincount(code, minlength=space) > 0
        states = np.flatnonzero(seen)
        node = (np.cumsum(seen) - 1)[code] + 1 if len(code) else code
    else:
        states, inv = np.unique(code, return_inverse=True)
        node = inv.reshape(-1).astype(np.int64) + 1
    n_nodes = len(states) + 1
    jidx = j.journey_of_touch
    weight = (j.conversions + j.nulls)[jidx]
    first = j.offsets[:-1][nonempty]
    last = j.offsets[1:][nonempty] - 1
    # within-journey transitions: touch i -> i + 1 when both in the same journey
    if len(node) > 1:
        same = jidx[1:] == jidx[:-1]
        src = np.r_[np.zeros(len(first), dtype=np.int64), node[:-1][same]]
        dst = np.r_[node[first], node[1:][same]]
        wt = np.r_[weight[first], weight[:-1][same]]
    else:
        src = np.zeros(len(first), dtype=np.int64)
        dst = node[first]
        wt = weight[first]
    if n_nodes * n_nodes <= DENSE_TRANSITIONS:
        flat = np.bincount(src * n_nodes + dst, wt, minlength=n_nodes * n_nodes)
        t = sp.csr_matrix(flat.reshape(n_nodes, n_nodes))
    else:
        t = sp.coo_matrix((wt, (src, dst)), shape=(n_nodes, n_nodes)).tocsr()
        t.sum_duplicates()
    to_conv = np.bincount(node[last], j.conversions[nonempty], minlength=n_nodes)
    to_val = np.bincount(node[last], j.value[nonempty], minlength=n_nodes)
    to_null = np.bincount(node[last], j.nulls[nonempty], minlength=n_nodes)
    return t, to_conv, to_val, to_null, states


def _absorb(t: sp.csr_matrix, r: np.ndarray, keep: np.ndarray, out_total: FloatArray) -> FloatArray:
    """Absorption probabilities from start (node 0) into each column of ``r`` (kept nodes only)."""
    idx = np.flatnonzero(keep)
    sub = t[idx][:, idx]
    scale = np.where(out_total[idx] > 0, 1.0 / np.where(out_total[idx] > 0, out_total[idx], 1), 0)
    q = sp.diags(scale) @ sub
    a = (sp.identity(len(idx), format="csc") - q.tocsc()).tocsc()
    rhs = r[idx] * scale[:, None]
    x = splu(a).solve(np.ascontiguousarray(rhs))
    return np.asarray(x[0])


def removal_effects(j: Journeys, order: int = 1) -> tuple[FloatArray, FloatArray, float, float]:
    """(removal effect on conversions, on value, P(conversion), value per start) per channel."""
    t, to_conv, to_val, to_null, states = transition_counts(j, order)
    out_total = np.asarray(t.sum(axis=1)).ravel() + to_conv + to_null
    r = np.column_stack([to_conv, to_val])
    n_nodes = t.shape[0]
    keep_all = np.ones(n_nodes, dtype=bool)
    if n_nodes == 1:
        zero = np.zeros(j.n_channels)
        return zero, zero, 0.0, 0.0
    base = _absorb(t, r, keep_all, out_total)
    digits = _digits(states, j.n_channels + 1, order)
    re_c = np.zeros(j.n_channels)
    re_v = np.zeros(j.n_channels)
    present = np.zeros(j.n_channels, dtype=bool)
    present[np.unique(j.channel)] = True
    for c in np.flatnonzero(present):
        keep = np.r_[True, ~(digits == c).any(axis=1)]
        p = _absorb(t, r, keep, out_total)
        re_c[c] = 1.0 - p[0] / base[0] if base[0] > 0 else 0.0
        re_v[c] = 1.0 - p[1] / base[1] if base[1] > 0 else 0.0
    return re_c, re_v, float(base[0]), float(base[1])


def markov_credit(j: Journeys, order: int = 1) -> Credit:
    """Credit per channel by removal effects of an order-``order`` chain (exact)."""
    re_c, re_v, p_conv, _ = removal_effects(j, order)
    touched = j.lengths > 0
    total_c = float(j.conversions[touched].sum())
    total_v = float(j.value[touched].sum())
    sc = re_c.sum()
    sv = re_v.sum()
    conv = re_c / sc * total_c if sc > 0 else np.zeros(j.n_channels)
    val = re_v / sv * total_v if sv > 0 else np.zeros(j.n_channels)
    return make_credit(
        f"markov_{order}",
        j,
        conv,
        val,
        extra={
            "removal_effects": dict(zip(j.channels, re_c.tolist(), strict=True)),
            "p_conversion": p_conv,
        },
    )
