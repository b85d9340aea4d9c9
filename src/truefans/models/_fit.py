"""What every model fit shares: input checks, collapsing rows, the optimiser and its report.

Every model maximises a weighted log-likelihood over the logarithms of its (positive) parameters
with BFGS and an analytic gradient, from a few fixed starting points, and then polishes the
best start with tight tolerances. The report says honestly how that went.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from truefans.errors import ConvergenceError, TruefansError

Array = npt.NDArray[np.float64]
#: (log-likelihood summed over customers, its gradient w.r.t. the log-parameters)
Objective = Callable[[Array], tuple[float, Array]]

#: log-parameters are kept in (-LOG_BOUND, LOG_BOUND) (parameters in about [3e-7, 3e6])
LOG_BOUND = 15.0


def dot(a: Array, b: Array) -> float:
    """Sum of a * b without BLAS: OpenBLAS's threaded ``ddot`` stalls when the cores are busy."""
    return float(np.einsum("i,i->", a, b))


def weighted_rows(g: Array, w: Array) -> Array:
    """``g @ w`` for a (k, n) array, without BLAS (see :func:`dot`)."""
    return np.asarray(np.einsum("ij,j->i", g, w))


class InvalidModelData(TruefansError):
    """The numbers given to a customer-value model cannot be used as they are."""


@dataclass(frozen=True)
class FitReport:
    """How a maximum-likelihood fit went.

    ``log_likelihood`` is in the papers' units: the natural-log likelihood summed over customers
    (weights count customers). ``gradient_norm`` is the Euclidean norm of the gradient of that sum
    with respect to the logarithms of the parameters, at the reported parameters.
    """

    model: str
    params: dict[str, float]
    log_likelihood: float
    converged: bool
    gradient_norm: float
    n_customers: float
    n_rows: int
    iterations: int
    starts_tried: int
    message: str
    #: after the loose phase from each start (on the exploration sample of rows, if any)
    start_log_likelihoods: list[float] = field(default_factory=list)


class Collapsed(NamedTuple):
    """Distinct rows of some columns, how many times each occurred, and where each input went."""

    columns: tuple[Array, ...]
    weights: Array
    inverse: npt.NDArray[np.intp]


def as_column(values: npt.ArrayLike, name: str) -> Array:
    """A 1-D float array of finite numbers, or a clear error naming the column."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InvalidModelData(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InvalidModelData(
            f"{name} has {int(bad.sum())} missing or infinite values (first at position "
            f"{int(np.argmax(bad))}); drop or fill those customers first"
        )
    return arr


def same_length(**columns: Array) -> int:
    lengths = {name: len(col) for name, col in columns.items()}
    if len(set(lengths.values())) != 1:
        raise InvalidModelData(f"columns differ in length: {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise InvalidModelData("no customers given")
    return n


def check_weights(weights: npt.ArrayLike | None, n: int) -> Array:
    if weights is None:
        return np.ones(n)
    w = as_column(weights, "weights")
    same_length(rows=np.empty(n), weights=w)
    if (w < 0).any():
        raise InvalidModelData("weights must be counts of customers, not negative")
    if w.sum() <= 0:
        raise InvalidModelData("the weights add up to zero: no customers to fit")
    return w


def sample_rows(n_rows: int, target: int = 12_000) -> npt.NDArray[np.intp] | None:
    """Every k-th row (deterministic) to explore starting points on, when there are many rows."""
    if n_rows <= 2 * target:
        return None
    return np.arange(0, n_rows, n_rows // target, dtype=np.intp)


def require(ok: npt.NDArray[np.bool_] | bool, what: str) -> None:
    """Raise :class:`InvalidModelData` saying ``what`` (with the first offending row) if not ok."""
    bad = ~np.asarray(ok, dtype=bool)
    if bad.any():
        first = int(np.argmax(bad)) if bad.ndim else 0
        raise InvalidModelData(f"{what} ({int(bad.sum())} rows, first at position {first})")


def collapse(*columns: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> Collapsed:
    """Distinct rows of ``columns`` (same length) with the number of times each occurs.

    With ``weights``, each input row counts its weight instead of 1. ``inverse`` maps every input
    row to its distinct row, so ``collapsed.columns[0][collapsed.inverse]`` gives the input back.
    The distinct rows come in no particular order.
    """
    cols = [as_column(c, f"column {i}") + 0.0 for i, c in enumerate(columns)]  # -0.0 -> 0.0
    n = same_length(**{f"column {i}": c for i, c in enumerate(cols)})
    w = check_weights(weights, n)
    if n == 0:
        return Collapsed(tuple(c[:0] for c in cols), np.zeros(0), np.zeros(0, dtype=np.intp))
    grouped = _group_by_hash_table(cols)
    if grouped is not None:
        inverse, first = grouped
        counts = np.bincount(inverse, weights=w, minlength=len(first)).astype(np.float64)
        return Collapsed(tuple(c[first] for c in cols), counts, inverse)
    order, new = _group_by_hash(cols)
    if order is None:  # two different rows share a hash: sort on the values themselves
        order, new = _group_by_sort(cols)
    group = np.cumsum(new) - 1
    first = order[new]
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    counts = np.bincount(group, weights=w[order]).astype(np.float64)
    return Collapsed(tuple(c[first] for c in cols), counts, inverse)


def _row_hash(cols: list[Array]) -> npt.NDArray[np.uint64]:
    key = np.zeros(len(cols[0]), dtype=np.uint64)
    for c in cols:
        key = _splitmix(key ^ c.view(np.uint64))
    return key


def _group_by_hash_table(
    cols: list[Array],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None:
    """Groups by a hash table on a 64-bit hash of each row (linear time, no sort): each row's
    group and each group's first row; ``None`` if a hash is shared by different rows (checked
    exactly against the rows themselves)."""
    import pandas as pd

    codes, uniques = pd.factorize(_row_hash(cols))
    n_groups = len(uniques)
    # groups in the order of their hash, as the sorting path gives them: only the distinct
    # keys are sorted, and results do not depend on which path ran
    rank = np.empty(n_groups, dtype=np.intp)
    rank[np.argsort(np.asarray(uniques), kind="stable")] = np.arange(n_groups, dtype=np.intp)
    inverse = rank[np.asarray(codes, dtype=np.intp)]
    first = np.empty(n_groups, dtype=np.intp)
    first[inverse[::-1]] = np.arange(len(inverse) - 1, -1, -1, dtype=np.intp)
    for c in cols:
        if (c != c[first][inverse]).any():
            return None
    return inverse, first


def _splitmix(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finaliser: every input bit affects every output bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _group_by_hash(
    cols: list[Array],
) -> tuple[npt.NDArray[np.intp] | None, npt.NDArray[np.bool_]]:
    """Rows ordered by a 64-bit hash of their bit patterns (a 1-key sort instead of a lexsort),
    with the first row of each group marked; ``None`` if a hash is shared by different rows."""
    key = _row_hash(cols)
    order = np.argsort(key, kind="stable")
    k = key[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = k[1:] != k[:-1]
    for c in cols:
        s = c[order]
        if ((s[1:] != s[:-1]) & ~new[1:]).any():
            return None, new
    return order, new


def _group_by_sort(cols: list[Array]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    order = np.lexsort(cols[::-1])
    new = np.ones(len(order), dtype=bool)
    new[1:] = False
    for c in cols:
        s = c[order]
        new[1:] |= s[1:] != s[:-1]
    return order, new


def _minimise(
    objective: Objective, x0: Array, total: float, tight: bool
) -> tuple[Array, float, int, bool, str]:
    """BFGS on the mean negative log-likelihood (scale-free tolerances).

    The log-parameters are theta = B tanh(phi / B) of free variables phi, which keeps them inside
    [-B, B] smoothly. (L-BFGS-B with box bounds was tried first: in SciPy 1.17 each of its steps
    cost milliseconds of OpenBLAS thread wake-ups on a busy 2-core machine, 5x the whole
    likelihood work of a 1,000,000-customer fit; BFGS's 4x4 algebra stays in NumPy.)
    """
    bound = LOG_BOUND

    def f(phi: Array) -> tuple[float, Array]:
        squash = np.tanh(phi / bound)
        ll, grad = objective(bound * squash)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(phi)
        return -ll / total, -grad * (1.0 - squash**2) / total

    phi0 = bound * np.arctanh(np.clip(x0, -bound, bound) / bound * (1.0 - 1e-9))
    options = {"maxiter": 2000, "gtol": 1e-9} if tight else {"maxiter": 200, "gtol": 1e-5}
    res = minimize(f, phi0, jac=True, method="BFGS", options=options)
    theta = bound * np.tanh(np.asarray(res.x, dtype=np.float64) / bound)
    return theta, -float(res.fun) * total, int(res.nit), bool(res.success), str(res.message)


def maximise(
    model: str,
    names: Sequence[str],
    objective: Objective,
    starts: Sequence[Sequence[float]],
    n_customers: float,
    n_rows: int,
    explore: tuple[Objective, float] | None = None,
) -> FitReport:
    """Maximise ``objective`` over log-parameters from each start, polish the best, report.

    ``explore`` (an objective on a sample of the rows, and its number of customers) runs the
    loose phase from every start more cheaply; the best start is then polished on all rows.
    """
    loose, loose_n = explore if explore is not None else (objective, n_customers)
    tried: list[tuple[float, Array, int]] = []
    for start in starts:
        theta0 = np.clip(np.log(np.asarray(start, dtype=np.float64)), -LOG_BOUND, LOG_BOUND)
        theta, ll, nit, _, _ = _minimise(loose, theta0, loose_n, tight=False)
        tried.append((ll if np.isfinite(ll) else -np.inf, theta, nit))
    best_ll, best_theta, _ = max(tried, key=lambda t: t[0])
    if not np.isfinite(best_ll) or best_ll <= -1e299 * loose_n:
        raise ConvergenceError(
            f"{model}: the log-likelihood could not be evaluated at any of {len(starts)} starting "
            "points; check the data (time unit, T >= recency) or try a coarser time unit"
        )
    theta, ll, nit, success, message = _minimise(objective, best_theta, n_customers, tight=True)
    iterations = nit + sum(t[2] for t in tried)
    ll_check, grad = objective(theta)
    grad_norm = float(np.linalg.norm(grad))
    at_bound = np.abs(theta) >= LOG_BOUND - 1.0
    # converged: inside the bounds with a gradient small per customer (a step of the size
    # gradient / Hessian ~ gradient / n_customers would move the log-parameters < 1e-5). The
    # optimiser's own flag is not required: at a flat optimum its line search may stop "abnormally".
    small = grad_norm <= 1e-5 * max(1.0, n_customers)
    converged = bool(small and not at_bound.any() and np.isfinite(ll_check))
    if at_bound.any():
        hit = ", ".join(n for n, b in zip(names, at_bound, strict=True) if b)
        message = (
            f"{hit} ran to the edge of the search range: the data cannot pin it down "
            "(too few customers, all alike, or nobody repeating)"
        )
    elif not converged:
        message = f"gradient still large ({grad_norm:.3g}); optimiser: {message}"
    else:
        message = "converged" if success else f"converged (optimiser: {message})"
    params = {n: float(v) for n, v in zip(names, np.exp(theta), strict=True)}
    return FitReport(
        model=model,
        params=params,
        log_likelihood=float(ll_check),
        converged=converged,
        gradient_norm=grad_norm,
        n_customers=float(n_customers),
        n_rows=n_rows,
        iterations=iterations,
        starts_tried=len(starts),
        message=message,
        start_log_likelihoods=[float(t[0]) for t in tried],
    )
