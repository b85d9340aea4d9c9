"""What every model fit shares: input checks, collapsing rows, the optimiser and its report.

Every model maximises a weighted log-likelihood over the logarithms of its (positive) parameters
with BFGS and an analytic gradient, from a few fixed starting points at a loose tolerance (on a
sample of the rows when there are many), then from the best one on all rows: BFGS started with
the Hessian found where the loose phase stopped, to a tight tolerance, and Newton steps to the
point where the gradient vanishes. The report says honestly how that went.
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
    The distinct rows come in no particular order (the same for the same input).
    """
    cols = [as_column(c, f"column {i}") for i, c in enumerate(columns)]
    n = same_length(**{f"column {i}": c for i, c in enumerate(cols)})
    return collapse_checked(cols, None if weights is None else check_weights(weights, n))


def collapse_checked(cols: Sequence[Array], weights: Array | None = None) -> Collapsed:
    """:func:`collapse` of columns already checked (finite 1-D float64 of one length >= 1).

    Exact and in linear time: each column's values are numbered by a hash table on that column
    (``pandas.factorize``; few distinct values, so a small table), the numbers are packed into
    one integer key (mixed radix), and the keys are grouped by counting (an array indexed by
    key) while the product of the columns' numbers of distinct values is small, by a hash table
    on the integer key otherwise. Floats are only compared for equality within a column, so
    no collision between different rows can happen.
    """
    n = len(cols[0])
    dense_limit = max(2 * n, 1 << 20)
    key: npt.NDArray[np.int64] | None = None
    size = 1
    for c in cols:
        codes, m = _numbered(c, dense_limit)
        if key is None:
            key = codes
        else:
            if size * m > dense_limit:
                key, size = _group_keys(key, size, dense_limit)
            key = key * m + codes
        size *= m
    assert key is not None
    inverse, n_groups = _group_keys(key, size, dense_limit)
    first = np.empty(n_groups, dtype=np.intp)
    first[inverse] = np.arange(n, dtype=np.intp)  # any row of a group: its rows are identical
    counts = np.bincount(inverse, weights=weights, minlength=n_groups).astype(np.float64)
    return Collapsed(tuple(c[first] + 0.0 for c in cols), counts, inverse)


def distinct(values: Array) -> tuple[Array, npt.NDArray[np.intp]]:
    """The distinct values of a checked column (in no particular order) and each value's index
    among them: ``uniques[inverse]`` gives the column back."""
    import pandas as pd

    codes, uniques = pd.factorize(values + 0.0)
    return np.asarray(uniques, dtype=np.float64), np.asarray(codes, dtype=np.intp)


def _numbered(c: Array, limit: int) -> tuple[npt.NDArray[np.int64], int]:
    """A number in [0, m) for each value, the same for equal values and only for them, and m.

    Whole numbers in a range under ``limit`` (counts, days) are their own numbers (minus the
    smallest); other columns are numbered by a hash table on their values.
    """
    head = c[:64]
    if (head == np.floor(head)).all():
        lo = float(c.min())
        shifted = c - lo
        if float(shifted.max()) < limit:
            whole = shifted.astype(np.int64)
            if (whole == shifted).all():
                return whole, int(whole.max()) + 1
    import pandas as pd

    codes, distinct = pd.factorize(c + 0.0)  # + 0.0: -0.0 and 0.0 are one value
    return np.asarray(codes, dtype=np.int64), len(distinct)


def _group_keys(
    key: npt.NDArray[np.int64], size: int, dense_limit: int
) -> tuple[npt.NDArray[np.intp], int]:
    """Each key's rank among the distinct keys (all in [0, size)), and how many there are."""
    if size <= dense_limit:
        present = np.zeros(size, dtype=bool)
        present[key] = True
        keys = np.flatnonzero(present)
        rank = np.empty(size, dtype=np.intp)  # only read where a key is present
        rank[keys] = np.arange(len(keys), dtype=np.intp)
        return rank[key], len(keys)
    import pandas as pd

    codes, distinct = pd.factorize(key)
    return np.asarray(codes, dtype=np.intp), len(distinct)


def _in_phi(objective: Objective, total: float) -> Objective:
    """The mean negative log-likelihood and its gradient over free variables phi, where the
    log-parameters are theta = B tanh(phi / B) (kept inside [-B, B] smoothly)."""
    bound = LOG_BOUND

    def f(phi: Array) -> tuple[float, Array]:
        squash = np.tanh(phi / bound)
        ll, grad = objective(bound * squash)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(phi)
        return -ll / total, -grad * (1.0 - squash**2) / total

    return f


def _theta(phi: Array) -> Array:
    return LOG_BOUND * np.tanh(np.asarray(phi, dtype=np.float64) / LOG_BOUND)


def _phi(theta: Array) -> Array:
    bound = LOG_BOUND
    return bound * np.arctanh(np.clip(theta, -bound, bound) / bound * (1.0 - 1e-9))


def _inverse_curvature(
    f: Objective, phi: Array, g0: Array | None = None, step: float = 1e-5
) -> Array | None:
    """The inverse Hessian of ``f`` at ``phi`` (forward differences of the analytic gradient
    ``g0`` there), or ``None`` if it is not positive definite there."""
    if g0 is None:
        _, g0 = f(phi)
    k = len(phi)
    h = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        h[:, i] = (f(phi + e)[1] - g0) / step
    h = (h + h.T) / 2.0
    if not np.all(np.isfinite(h)):
        return None
    try:
        low = np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return None
    inv_low = np.linalg.inv(low)
    return np.asarray(inv_low.T @ inv_low)


def _newton_polish(f: Objective, phi: Array, value: float, grad: Array) -> Array:
    """Newton steps from where BFGS stopped, with the Hessian from differences of the analytic
    gradient (an inexact Hessian slows Newton's convergence a little but does not move the point
    it converges to, where the exact gradient vanishes). BFGS stops on a small gradient, which
    on a flat ridge of the likelihood (Pareto/NBD's s and beta) can still leave the parameters
    visibly short of the maximum; a step is kept only if it shrinks the gradient without
    lowering the likelihood beyond rounding."""
    for _ in range(3):
        hess_inv = _inverse_curvature(f, phi, grad)
        if hess_inv is None:
            break
        step = -(hess_inv @ grad)
        size = float(np.abs(step).max())
        if size < 1e-13:
            break
        value_new, grad_new = f(phi + step)
        worse = value_new > value + 1e-13 * (1.0 + abs(value))
        if worse or np.abs(grad_new).max() >= np.abs(grad).max():
            break
        phi, value, grad = phi + step, value_new, grad_new
        if size < 1e-6:  # the next step would be under 1e-10: Newton with a good Hessian
            break
    return phi


def _minimise(
    f: Objective, phi0: Array, tight: bool, hess_inv0: Array | None = None
) -> tuple[Array, float, int, bool, str]:
    """BFGS on a mean negative log-likelihood over phi (scale-free tolerances).

    (L-BFGS-B with box bounds was tried first: in SciPy 1.17 each of its steps cost
    milliseconds of OpenBLAS thread wake-ups on a busy 2-core machine, 5x the whole likelihood
    work of a 1,000,000-customer fit; BFGS's 4x4 algebra stays in NumPy.)
    """
    # tight: a mean gradient of 1e-7 is where BFGS's line search still sees the mean
    # log-likelihood change (~1e-12 of it; nearer 1e-9 steps change it by an ulp and the search
    # can spend dozens of evaluations failing); the Newton polish takes it from there
    options: dict[str, object] = (
        {"maxiter": 2000, "gtol": 1e-7} if tight else {"maxiter": 200, "gtol": 1e-5}
    )
    if hess_inv0 is not None:
        options["hess_inv0"] = hess_inv0
    res = minimize(f, phi0, jac=True, method="BFGS", options=options)
    phi = np.asarray(res.x, dtype=np.float64)
    if tight and np.isfinite(res.fun):
        phi = _newton_polish(f, phi, float(res.fun), np.asarray(res.jac, dtype=np.float64))
    return phi, float(res.fun), int(res.nit), bool(res.success), str(res.message)


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
    f_loose = _in_phi(loose, loose_n)
    tried: list[tuple[float, Array, int]] = []
    for start in starts:
        theta0 = np.clip(np.log(np.asarray(start, dtype=np.float64)), -LOG_BOUND, LOG_BOUND)
        phi, mean_nll, nit, _, _ = _minimise(f_loose, _phi(theta0), tight=False)
        ll = -mean_nll * loose_n
        tried.append((ll if np.isfinite(ll) else -np.inf, phi, nit))
    best_ll, best_phi, _ = max(tried, key=lambda t: t[0])
    if not np.isfinite(best_ll) or best_ll <= -1e299 * loose_n:
        raise ConvergenceError(
            f"{model}: the log-likelihood could not be evaluated at any of {len(starts)} starting "
            "points; check the data (time unit, T >= recency) or try a coarser time unit"
        )
    # the mean log-likelihood of a sample of the rows curves like that of all rows: its
    # Hessian (cheap on the sample) starts BFGS on all rows with Newton-like steps
    hess_inv0 = _inverse_curvature(f_loose, best_phi)
    f_all = _in_phi(objective, n_customers)
    phi, _, nit, success, message = _minimise(f_all, best_phi, tight=True, hess_inv0=hess_inv0)
    theta = _theta(phi)
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
