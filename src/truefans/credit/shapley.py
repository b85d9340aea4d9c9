"""Shapley values over channel sets.

The worth of a set ``S`` of channels is the conversion rate of the journeys that used only channels
of ``S`` (their channel set is a subset of ``S``; 0 when there is none): what the business would
convert if only those channels existed, judged from the journeys that lived inside them. (With the
worth "conversions of the journeys inside ``S``" the Shapley value collapses to a linear split over
each journey's distinct channels; a rate does not.) A channel's Shapley value is its average
marginal worth over all orders of adding channels; the values sum to ``v(all) - v(none)`` and are
scaled to the conversions of journeys with a touch. Negative values (a channel whose journeys
convert worse than those without it) get no credit and are reported in ``extra``. Money uses
the value per journey as the worth.

Exact for up to :data:`EXACT_MAX` channels (all ``2 ** n`` coalitions, by a subset-sum transform);
beyond, by ``samples`` random orders, with the standard error of each value reported.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from .journeys import BoolArray, Credit, FloatArray, Journeys, make_credit

EXACT_MAX = 15


def channel_sets(j: Journeys) -> tuple[BoolArray, FloatArray, FloatArray, FloatArray]:
    """Distinct channel sets (rows of a bool matrix) with their conversions, journeys and value."""
    touched = j.lengths > 0
    member = np.zeros((j.n, j.n_channels), dtype=bool)
    if len(j.channel):
        member[j.journey_of_touch, j.channel] = True
    member = member[touched]
    packed = np.packbits(member, axis=1)
    _, first, inv = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    k = len(first)
    conv = np.bincount(inv, j.conversions[touched], minlength=k)
    count = np.bincount(inv, (j.conversions + j.nulls)[touched], minlength=k)
    val = np.bincount(inv, j.value[touched], minlength=k)
    return member[first], conv, count, val


def _exact(member: BoolArray, conv: FloatArray, count: FloatArray, val: FloatArray) -> FloatArray:
    n = member.shape[1]
    masks = member.astype(np.int64) @ (np.int64(1) << np.arange(n, dtype=np.int64))
    size = 1 << n
    sums = np.zeros((3, size))
    np.add.at(sums[0], masks, conv)
    np.add.at(sums[1], masks, count)
    np.add.at(sums[2], masks, val)
    # subset sums (zeta transform): sums[S] = total over all T subset of S
    for i in range(n):
        view = sums.reshape(3, -1, 2, 1 << i)
        view[:, :, 1, :] += view[:, :, 0, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        worth = np.where(sums[1] > 0, sums[[0, 2]] / np.where(sums[1] > 0, sums[1], 1), 0.0)
    all_masks = np.arange(size, dtype=np.int64)
    popcount = np.zeros(size, dtype=np.int64)
    for i in range(n):
        popcount += (all_masks >> i) & 1
    weights = np.array(
        [factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)], dtype=np.float64
    )
    phi = np.zeros((2, n))
    for c in range(n):
        bit = np.int64(1) << c
        without = all_masks[(all_masks & bit) == 0]
        gain = worth[:, without | bit] - worth[:, without]
        phi[:, c] = gain @ weights[popcount[without]]
    return phi


def _sampled(
    member: BoolArray,
    conv: FloatArray,
    count: FloatArray,
    val: FloatArray,
    samples: int,
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    n = member.shape[1]
    rng = np.random.default_rng(seed)
    total = np.zeros((2, n))
    total_sq = np.zeros((2, n))
    big = n + 1
    for _ in range(samples):
        order = rng.permutation(n)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        # a set is inside the first k channels of the order when its latest channel ranks < k
        latest = np.where(member, rank[None, :], -1).max(axis=1)
        latest = np.where(latest < 0, big, latest)
        cum = np.zeros((3, n + 1))
        for row, arr in enumerate((conv, count, val)):
            cum[row, 1:] = np.cumsum(np.bincount(latest, arr, minlength=big + 1)[:n])
        with np.errstate(invalid="ignore", divide="ignore"):
            worth = np.where(cum[1] > 0, cum[[0, 2]] / np.where(cum[1] > 0, cum[1], 1), 0.0)
        gain = np.diff(worth, axis=1)  # gain of the channel at each position of the order
        g = np.zeros((2, n))
        g[:, order] = gain
        total += g
        total_sq += g * g
    mean = total / samples
    var = np.maximum(total_sq / samples - mean**2, 0.0)
    return mean, np.sqrt(var / samples)


def shapley_values(
    j: Journeys, samples: int = 2000, seed: int = 0, exact_max: int = EXACT_MAX
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """(Shapley value of the conversion rate, of the value per journey, standard error or None)."""
    member, conv, count, val = channel_sets(j)
    n = j.n_channels
    if n == 0 or len(conv) == 0:
        return np.zeros(n), np.zeros(n), None
    if n <= exact_max:
        phi = _exact(member, conv, count, val)
        return phi[0], phi[1], None
    phi, se = _sampled(member, conv, count, val, samples, seed)
    return phi[0], phi[1], se[0]


def shapley_credit(
    j: Journeys, samples: int = 2000, seed: int = 0, exact_max: int = EXACT_MAX
) -> Credit:
    phi_c, phi_v, se = shapley_values(j, samples, seed, exact_max)
    touched = j.lengths > 0
    total_c = float(j.conversions[touched].sum())
    total_v = float(j.value[touched].sum())
    pc = phi_c.clip(min=0)
    pv = phi_v.clip(min=0)
    conv = pc / pc.sum() * total_c if pc.sum() > 0 else np.zeros(j.n_channels)
    val = pv / pv.sum() * total_v if pv.sum() > 0 else np.zeros(j.n_channels)
    stderr = None
    note = "exact over all channel sets"
    if se is not None:
        scale = total_c / pc.sum() if pc.sum() > 0 else 0.0
        stderr = np.append(se * scale, 0.0)
        note = f"sampled over {samples} random channel orders; stderr is the sampling error"
    return make_credit(
        "shapley",
        j,
        conv,
        val,
        stderr=stderr,
        note=note,
        extra={"shapley_values": dict(zip(j.channels, phi_c.tolist(), strict=True))},
    )
