"""Rule-based credit: each converting journey's conversion split over its touches by a fixed rule.

Every rule gives each touch a weight, the weights of one journey sum to 1, and a channel's credit
is the sum of its touches' weights times the journey's conversions (and times its value for money).
A touch of a channel that appears twice in a journey is credited twice. All rules are vectorised
over the flat touch arrays (no Python loop over journeys).

* ``first`` / ``last`` — all to the first / last touch.
* ``last_non_direct`` — all to the last touch whose channel is not direct; a journey of direct
  touches only gives it to its last touch.
* ``linear`` — equal parts.
* ``time_decay`` — weight ``2 ** (-age / half_life)``, age in days before the outcome (7 days).
* ``position`` (U-shaped) — 40 % first, 40 % last, 20 % shared by the touches between; a journey
  of two touches splits 50/50, a single touch takes all.
* ``w_shaped`` — 30 % each to the first touch, the lead touch and the last touch, 10 % shared by the
  others; a touch holding two roles takes both parts, and a journey with no other touch shares all
  among its roles in proportion. A journey without a lead touch is credited U-shaped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .journeys import Credit, FloatArray, InvalidJourneys, Journeys, make_credit

RULE_MODELS = ("first", "last", "last_non_direct", "linear", "time_decay", "position", "w_shaped")


def _last_index(j: Journeys) -> np.ndarray:
    return j.offsets[1:] - 1


def touch_weights(
    j: Journeys,
    model: str,
    half_life_days: float = 7.0,
    position_weights: tuple[float, float] = (0.4, 0.4),
    w_weights: float = 0.3,
    direct: Sequence[str] = (),
) -> FloatArray:
    """The weight of every touch under ``model`` (each non-empty journey's weights sum to 1)."""
    nt = len(j.channel)
    w = np.zeros(nt)
    if nt == 0:
        return w
    lengths = j.lengths
    nonempty = lengths > 0
    first = j.offsets[:-1][nonempty]
    last = _last_index(j)[nonempty]
    jidx = j.journey_of_touch
    if model == "first":
        w[first] = 1.0
    elif model == "last":
        w[last] = 1.0
    elif model == "last_non_direct":
        codes = [j.channels.index(d) for d in direct if d in j.channels]
        is_direct = np.isin(j.channel, codes)
        idx = np.where(is_direct, -1, np.arange(nt))
        best = np.maximum.reduceat(idx, first)
        w[np.where(best >= 0, best, last)] = 1.0
    elif model == "linear":
        w = 1.0 / lengths[jidx]
    elif model == "time_decay":
        if not half_life_days > 0:
            raise InvalidJourneys(f"half-life must be positive, got {half_life_days}")
        raw = np.exp2(-j.age_days / half_life_days)
        # normalise by the largest weight of the journey first so that very old touches cannot
        # underflow every weight of a journey to zero
        top = np.maximum.reduceat(raw, first)
        top_t = np.repeat(top, lengths[nonempty])
        raw = np.where(top_t > 0, raw / np.where(top_t > 0, top_t, 1.0), 1.0)
        sums = np.bincount(jidx, raw, minlength=j.n)
        w = raw / sums[jidx]
    elif model == "position":
        w = _u_shaped(j, position_weights)
    elif model == "w_shaped":
        w = _w_shaped(j, position_weights, w_weights)
    else:
        raise InvalidJourneys(f"unknown rule model {model!r}; known: {', '.join(RULE_MODELS)}")
    return w


def _u_shaped(j: Journeys, weights: tuple[float, float]) -> FloatArray:
    wf, wl = weights
    if wf < 0 or wl < 0 or wf + wl > 1:
        raise InvalidJourneys(f"position weights {weights} must be >= 0 and sum to at most 1")
    lengths = j.lengths
    jidx = j.journey_of_touch
    pos = j.position
    n_t = lengths[jidx]
    w = np.zeros(len(j.channel))
    one = n_t == 1
    two = n_t == 2
    many = n_t >= 3
    w[one] = 1.0
    lead2 = wf / (wf + wl) if wf + wl > 0 else 0.5
    w[two & (pos == 0)] = lead2
    w[two & (pos == 1)] = 1.0 - lead2
    mid = (1.0 - wf - wl) / np.maximum(n_t - 2, 1)
    w[many] = mid[many]
    w[many & (pos == 0)] = wf
    w[many & (pos == n_t - 1)] = wl
    return w


def _w_shaped(j: Journeys, u_weights: tuple[float, float], share: float) -> FloatArray:
    if not 0 <= share <= 1 / 3:
        raise InvalidJourneys(f"W-shaped share per key touch must be in [0, 1/3], got {share}")
    w = _u_shaped(j, u_weights)
    if j.lead is None:
        return w
    lengths = j.lengths
    lead = j.lead
    has = (lead >= 0) & (lengths > 0)
    if np.any(lead[has] >= lengths[has]):
        raise InvalidJourneys("a lead touch index lies outside its journey")
    jidx = j.journey_of_touch
    pos = j.position
    in_w = has[jidx]
    n_t = lengths[jidx]
    lead_t = lead[jidx]
    roles = (pos == 0).astype(float) + (pos == n_t - 1) + (pos == lead_t)
    raw = np.where(roles > 0, share * roles, 0.0)
    n_other = np.bincount(jidx, (roles == 0) * 1.0, minlength=j.n)[jidx]
    rest = 1.0 - share * 3
    raw = np.where(roles == 0, rest / np.maximum(n_other, 1), raw)
    # no other touch: the key touches share everything in proportion to their roles
    sums = np.bincount(jidx, raw, minlength=j.n)[jidx]
    raw = raw / np.where(sums > 0, sums, 1.0)
    return np.where(in_w, raw, w)


def rule_credit(
    j: Journeys,
    model: str,
    half_life_days: float = 7.0,
    position_weights: tuple[float, float] = (0.4, 0.4),
    w_weights: float = 0.3,
    direct: Sequence[str] = (),
) -> Credit:
    """Credit per channel (plus direct/none) under a rule model."""
    w = touch_weights(j, model, half_life_days, position_weights, w_weights, direct)
    jidx = j.journey_of_touch
    conv = np.bincount(j.channel, w * j.conversions[jidx], minlength=j.n_channels)
    val = np.bincount(j.channel, w * j.value[jidx], minlength=j.n_channels)
    return make_credit(model, j, conv, val)


def all_rules(
    j: Journeys,
    half_life_days: float = 7.0,
    position_weights: tuple[float, float] = (0.4, 0.4),
    w_weights: float = 0.3,
    direct: Sequence[str] = (),
) -> dict[str, Credit]:
    return {
        m: rule_credit(j, m, half_life_days, position_weights, w_weights, direct)
        for m in RULE_MODELS
    }
