"""Seeded simulators of the models, for recovery tests and benchmarks (known true parameters)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from truefans.models._fit import Array, as_column


def _order_statistic(rng: np.random.Generator, x: Array, events: Array, span: Array) -> Array:
    """Time of the x-th of ``events`` uniform times in [0, span] (0 where x = 0)."""
    out = np.zeros(len(x))
    some = x > 0
    out[some] = span[some] * rng.beta(x[some], events[some] - x[some] + 1.0)
    return out


def simulate_bgnbd(
    T: npt.ArrayLike, r: float, alpha: float, a: float, b: float, seed: int
) -> tuple[Array, Array]:
    """(x, t_x) of customers observed for ``T`` under BG/NBD with these parameters.

    Each customer buys at rate lambda ~ Gamma(r, alpha) and, after each repeat purchase, drops
    out with probability p ~ Beta(a, b): x = min(purchases before dropping out, events in [0, T]).
    """
    Ta = as_column(T, "T")
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, len(Ta))
    p = rng.beta(a, b, len(Ta))
    lives = rng.geometric(p).astype(np.float64)  # purchases until (and including) the last
    events = rng.poisson(lam * Ta).astype(np.float64)
    x = np.minimum(lives, events)
    return x, _order_statistic(rng, x, events, Ta)


def simulate_pareto_nbd(
    T: npt.ArrayLike, r: float, alpha: float, s: float, beta: float, seed: int
) -> tuple[Array, Array]:
    """(x, t_x) under Pareto/NBD: rate lambda ~ Gamma(r, alpha), lifetime ~ Exp(mu ~ Gamma(s, beta))."""
    Ta = as_column(T, "T")
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, len(Ta))
    mu = rng.gamma(s, 1.0 / beta, len(Ta))
    alive_for = np.minimum(rng.exponential(1.0 / mu), Ta)
    x = rng.poisson(lam * alive_for).astype(np.float64)
    return x, _order_statistic(rng, x, x, alive_for)


def simulate_spend(x: npt.ArrayLike, p: float, q: float, gamma: float, seed: int) -> Array:
    """Mean spend of x purchases under Gamma-Gamma (each Gamma(p, nu), nu ~ Gamma(q, gamma)).

    0 where x = 0.
    """
    xa = as_column(x, "x")
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / gamma, len(xa))
    out = np.zeros(len(xa))
    some = xa > 0
    out[some] = rng.gamma(p * xa[some], 1.0 / (nu[some] * xa[some]))
    return out


def simulate_cohort(n: int, seed: int, resolution: float = 1.0 / 7.0) -> dict[str, Array]:
    """A CDNOW-shaped cohort in weeks: first purchases over 12 weeks, observed to week 39.

    BG/NBD (r, alpha, a, b) = (0.243, 4.414, 0.793, 2.426) and Gamma-Gamma (p, q, gamma) =
    (6.25, 3.74, 15.44), the CDNOW estimates. Times are rounded up to ``resolution`` (a day by
    default), as a purchase log keeps dates: ``x, t_x, T, mean_spend`` per customer.
    """
    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, 84, n)
    T = (273.0 - first_day) / 7.0
    x, t_x = simulate_bgnbd(T, 0.243, 4.414, 0.793, 2.426, seed + 1)
    t_x = np.minimum(np.ceil(t_x / resolution - 1e-9) * resolution, T)
    spend = np.round(simulate_spend(x, 6.25, 3.74, 15.44, seed + 2), 2)
    spend = np.where(x > 0, np.maximum(spend, 0.01), 0.0)
    return {"x": x, "t_x": t_x, "T": T, "mean_spend": spend}
