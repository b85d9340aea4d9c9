"""Split a budget of dollars and hours over channels for the most expected outcome.

Each input (a channel's dollars, or its hours) has a response curve ``f_i``: the weekly outcome
of a steady weekly amount. The planner maximises ``sum_i f_i(x_i)`` subject to, separately for
dollars and for hours, ``sum x_i = budget / weeks``, per-input bounds (default: zero to the largest
weekly amount observed, so the plan does not extrapolate the curves) and ``x_i <= max_share *
budget`` (a hard constraint, never a penalty). Since every curve depends on its own input only, the
dollars and the hours are two independent problems of a few variables each:

1. equal marginal returns: bisection on the price ``lam`` of a unit, each input taking the amount
   that maximises ``f_i(x) - lam * x`` on a fine grid (global even for S-shaped curves);
2. polish with SLSQP from that point, from a spread start and, for each S-shaped curve, from
   "all in that input" (S-shaped curves can favour concentrating); the best is kept;
3. snap onto the constraints exactly (bounds, cap, budget).

A risk-averse plan maximises ``mean - z * sd`` over the curves' draws (``z`` of the asked lower
quantile) instead. With steady curves and no week-specific effects, the same amount every week is
optimal for concave curves; the per-week allocation is therefore flat, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

from truefans.mix.curves import ResponseCurve
from truefans.mix.data import MixError
from truefans.mix.result import Estimate
from truefans.mix.transforms import Array

GRID = 4001


@dataclass(frozen=True)
class PlanInput:
    name: str
    channel: str
    unit: str
    weekly: float  # planned amount per week
    total: float  # over the horizon
    lower: float  # weekly bounds used
    upper: float
    share: float  # of the budget in its unit
    expected: Estimate  # outcome over the horizon from this input
    marginal: Estimate  # extra weekly outcome per extra dollar / hour per week, at the plan
    at_cap: bool  # the max-share cap binds
    at_upper: bool  # the upper bound binds
    outside_observed: bool  # planned above the largest (or below the smallest) amount seen


@dataclass
class Plan:
    weeks: int
    inputs: list[PlanInput]
    allocation: Array  # (weeks, inputs) amounts per week
    expected: Estimate  # total incremental outcome over the horizon
    budget: dict[str, float]  # per unit, over the horizon
    spent: dict[str, float]
    max_share: float
    objective: str
    source: str
    current_expected: Estimate | None = None
    notes: list[str] = field(default_factory=list)

    def input(self, name: str) -> PlanInput:
        for p in self.inputs:
            if p.name == name:
                return p
        raise MixError(f"no input {name!r} in the plan")


def _estimate(v: Array, level: float) -> Estimate:
    if v.size < 2:
        return Estimate(float(v[0]), float(v[0]), float(v[0]))
    lo, hi = np.quantile(v[1:], [(1 - level) / 2, 1 - (1 - level) / 2])
    return Estimate(float(v[0]), float(lo), float(hi))


def _snap(x: Array, lo: Array, hi: Array, total: float) -> Array:
    """Move ``x`` onto ``lo <= x <= hi, sum x = total`` (feasible), changing it as little as
    possible in proportion to the room each input has."""
    x = np.clip(x, lo, hi)
    for _ in range(4):
        gap = total - x.sum()
        if abs(gap) <= 1e-12 * max(total, 1.0):
            break
        room = (hi - x) if gap > 0 else (x - lo)
        if room.sum() <= 0:
            break
        x = np.clip(x + gap * room / room.sum(), lo, hi)
    return x


def _solve_group(
    curves: Sequence[ResponseCurve], lo: Array, hi: Array, total: float, risk_z: float | None
) -> Array:
    n = len(curves)
    if total <= lo.sum() + 1e-15:
        return lo.copy()
    if total >= hi.sum():
        return hi.copy()
    grids = [np.linspace(lo[i], hi[i], GRID) for i in range(n)]
    vals = np.stack([c.point(g) for c, g in zip(curves, grids, strict=True)])
    gmat = np.stack(grids)

    def take(lam: float) -> Array:
        idx = np.argmax(vals - lam * gmat, axis=1)
        return np.asarray(gmat[np.arange(n), idx])

    slopes = np.concatenate([c.point_derivative(g[:1]) for c, g in zip(curves, grids, strict=True)])
    top = float(max(np.max(np.diff(vals, axis=1) / np.maximum(np.diff(gmat, axis=1), 1e-300)), 0))
    lam_lo, lam_hi = 0.0, max(top, float(np.max(slopes)), 1e-12) * 2
    for _ in range(80):
        mid = 0.5 * (lam_lo + lam_hi)
        if take(mid).sum() > total:
            lam_lo = mid
        else:
            lam_hi = mid
    x_grid = _snap(take(lam_hi), lo, hi, total)

    def objective(x: Array) -> tuple[float, Array]:
        if risk_z is None:
            both = [c.point_both(float(xi)) for c, xi in zip(curves, x, strict=True)]
            return -sum(b[0] for b in both), -np.array([b[1] for b in both])
        vd = np.stack([c.value(xi)[:, 0] for c, xi in zip(curves, x, strict=True)])  # (n, D)
        gd = np.stack([c.derivative(xi)[:, 0] for c, xi in zip(curves, x, strict=True)])
        s = vd.sum(axis=0)
        sd = s.std() + 1e-300
        val = s.mean() - risk_z * s.std()
        grad = gd.mean(axis=1) - risk_z * (
            (gd - gd.mean(axis=1, keepdims=True)) @ (s - s.mean())
        ) / (s.size * sd)
        return -float(val), -np.asarray(grad)

    spread = _snap(lo + (hi - lo) * (total - lo.sum()) / (hi - lo).sum(), lo, hi, total)
    best, best_val = x_grid, objective(x_grid)[0]
    scale = max(abs(best_val), 1e-12)

    def scaled(x: Array) -> tuple[float, Array]:
        v, g = objective(x)
        return v / scale, g / scale

    corners = []
    for i in range(n):  # all in one S-shaped input: concentrating can beat splitting them
        if not curves[i].s_shaped():
            continue
        corner = lo.copy()
        corner[i] = hi[i]
        corners.append(_snap(corner, lo, hi, total))
    for start in (x_grid, spread, *corners):
        res = minimize(
            scaled,
            start,
            jac=True,
            method="SLSQP",
            bounds=list(zip(lo, hi, strict=True)),
            constraints=[
                {"type": "eq", "fun": lambda x: x.sum() - total, "jac": lambda x: np.ones_like(x)}
            ],
            options={"ftol": 1e-12, "maxiter": 300},
        )
        cand = _snap(np.asarray(res.x), lo, hi, total)
        val = objective(cand)[0]
        if val < best_val:
            best, best_val = cand, val
    return best


def plan(
    curves: Sequence[ResponseCurve],
    budget_dollars: float,
    budget_hours: float = 0.0,
    weeks: int = 1,
    max_share: float = 1.0,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    risk_quantile: float | None = None,
    level: float = 0.94,
    current: Mapping[str, float] | None = None,
) -> Plan:
    """The best split of ``budget_dollars`` and ``budget_hours`` (totals over ``weeks`` weeks).

    ``bounds`` are weekly amounts per input name; ``current`` (weekly amounts) adds the expected
    outcome of carrying on as now, for comparison. ``risk_quantile`` (e.g. 0.1) plans for that
    lower quantile of the outcome instead of its expectation.
    """
    if not curves:
        raise MixError("no response curves to plan with")
    if weeks < 1 or int(weeks) != weeks:
        raise MixError(f"weeks must be a whole number >= 1, got {weeks}")
    for what, b in (("dollar budget", budget_dollars), ("hour budget", budget_hours)):
        if not np.isfinite(b) or b < 0:
            raise MixError(f"the {what} must be a non-negative number, got {b}")
    if not 0 < max_share <= 1:
        raise MixError(f"max_share must be in (0, 1], got {max_share}")
    if risk_quantile is not None and not 0 < risk_quantile < 0.5:
        raise MixError(f"risk_quantile must be between 0 and 0.5, got {risk_quantile}")
    names = [c.name for c in curves]
    if len(set(names)) != len(names) or len({(c.channel, c.unit) for c in curves}) != len(curves):
        raise MixError("each channel may have one dollars curve and one hours curve")
    bounds = dict(bounds or {})
    for name in bounds:
        if name not in names:
            raise MixError(f"bounds for unknown input {name!r} (inputs: {names})")
    budget = {"dollars": float(budget_dollars), "hours": float(budget_hours)}
    notes: list[str] = []
    n = len(curves)
    lo, hi, cap_hit_limit = np.zeros(n), np.zeros(n), np.zeros(n)
    for i, c in enumerate(curves):
        weekly_budget = budget[c.unit] / weeks
        default_hi = c.observed[1] if c.observed[1] > 0 else np.inf
        b_lo, b_hi = bounds.get(c.name, (0.0, default_hi))
        if not (np.isfinite(b_lo) and b_lo >= 0 and b_hi >= b_lo):
            raise MixError(
                f"bounds for {c.name} must satisfy 0 <= lower <= upper, got {b_lo}, {b_hi}"
            )
        cap = max_share * weekly_budget
        if weekly_budget > 0 and cap / weekly_budget > max_share:
            cap = float(np.nextafter(cap, 0.0))
        cap_hit_limit[i] = cap
        lo[i], hi[i] = b_lo, min(b_hi, cap)
        if lo[i] > hi[i]:
            raise MixError(
                f"{c.name}: the lower bound {b_lo:g} per week is above the cap of "
                f"{max_share:.0%} of the {c.unit} budget ({cap:g} per week)"
            )
    x = np.zeros(n)
    z = None if risk_quantile is None else float(-norm.ppf(risk_quantile))
    for unit in ("dollars", "hours"):
        idx = [i for i, c in enumerate(curves) if c.unit == unit]
        total = budget[unit] / weeks
        if not idx:
            if total > 0:
                notes.append(f"no {unit} inputs: the {unit} budget is not used")
            continue
        ilo, ihi = lo[idx], hi[idx]
        if total < ilo.sum() - 1e-12 * max(total, 1):
            raise MixError(
                f"the {unit} budget ({total:g} per week) is below the sum of the lower bounds "
                f"({ilo.sum():g})"
            )
        if total > ihi.sum():
            notes.append(
                f"only {ihi.sum() * weeks:,.0f} of the {budget[unit]:,.0f} {unit} can be placed "
                "within the bounds (by default the largest weekly amounts seen, times the share "
                "cap); the rest is left unallocated rather than extrapolated"
            )
        x[idx] = _solve_group([curves[i] for i in idx], ilo, ihi, total, z)
    # report
    inputs = []
    per_draw = []
    for i, c in enumerate(curves):
        v = c.value(x[i])[:, 0] * weeks
        per_draw.append(v)
        d = c.derivative(x[i])[:, 0]
        weekly_budget = budget[c.unit] / weeks
        seen_lo, seen_hi = c.observed
        outside = c.observed != (0.0, 0.0) and (
            x[i] > seen_hi * (1 + 1e-9) or x[i] < seen_lo * (1 - 1e-9)
        )
        inputs.append(
            PlanInput(
                name=c.name,
                channel=c.channel,
                unit=c.unit,
                weekly=float(x[i]),
                total=float(x[i] * weeks),
                lower=float(lo[i]),
                upper=float(hi[i]),
                share=float(x[i] / weekly_budget) if weekly_budget > 0 else 0.0,
                expected=_estimate(v, level),
                marginal=_estimate(d, level),
                at_cap=bool(max_share < 1 and x[i] >= cap_hit_limit[i] * (1 - 1e-9)),
                at_upper=bool(x[i] >= hi[i] * (1 - 1e-9) and hi[i] < cap_hit_limit[i]),
                outside_observed=bool(outside),
            )
        )
    draws = min(c.draws for c in curves)
    total_draws = np.sum([v[:draws] for v in per_draw], axis=0)
    current_est = None
    if current is not None:
        cur = np.sum(
            [c.value(float(current.get(c.name, 0.0)))[:draws, 0] * weeks for c in curves], axis=0
        )
        current_est = _estimate(cur, level)
    if any(p.outside_observed for p in inputs):
        notes.append("some amounts lie outside the range observed: those curves are extrapolated")
    if any(c.kind == "hill" and np.any(c.params[:, 1] > 1) for c in curves):
        notes.append(
            "same amount every week; with S-shaped curves, bursts of spend might do better "
            "than a flat plan"
        )
    sources = sorted({c.source for c in curves})
    if any(c.source != "mix model" for c in curves):
        notes.append(
            "planned from average returns (no mix model): straight-line curves, no diminishing "
            "returns beyond the bounds; treat the split as a starting point"
        )
    return Plan(
        weeks=int(weeks),
        inputs=inputs,
        allocation=np.tile(x, (int(weeks), 1)),
        expected=_estimate(total_draws, level),
        budget=budget,
        spent={u: float(sum(p.total for p in inputs if p.unit == u)) for u in budget},
        max_share=float(max_share),
        objective="expected outcome"
        if risk_quantile is None
        else f"{risk_quantile:.0%} lower quantile of the outcome",
        source=", ".join(sources),
        current_expected=current_est,
        notes=notes,
    )
