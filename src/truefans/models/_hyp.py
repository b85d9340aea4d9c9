"""The Gauss hypergeometric series of the Pareto/NBD likelihood, with parameter derivatives.

With q = r + s + x and 0 <= z < 1 the likelihood needs ``2F1(q, b; q + 1; z)`` for b = s + 1 or
b = r + x. By Euler's transformation that is ``(1 - z)^(1 - b)`` times

    2F1(1, p; q + 1; z) = sum_n (p)_n / (q+1)_n z^n,   p = q + 1 - b  (r + x or s + 1),

whose terms shrink from the first (ratio (p+n)/(q+1+n) z < z, since p < q + 1): however large the
parameters, about 40 / (1 - z) terms reach full precision. scipy's ``hyp2f1`` has no derivatives
in its parameters, so the series is summed here, in log space and in blocks of terms, together
with the derivatives of its logarithm in p, q and z. All terms are positive: no cancellation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from truefans.models._fit import Array

BLOCK = 32
#: enough for full precision up to z = 0.998; z closer to 1 needs min(alpha, beta) + t under 0.2 %
#: of max(alpha, beta) + t, which only fits whose parameters run to the edge of their range
#: reach (the report then says so); there the sum is cut here, a little short
MAX_TERMS = 20_000
#: stop when the rest of the series is below exp(-TAIL) of its sum (e^-40 = 4e-18)
TAIL = 40.0


class Series(NamedTuple):
    log_value: Array  # log of the sum
    d_q: Array  # d log(sum) / dq
    d_p: Array  # d log(sum) / dp
    d_z: Array  # d log(sum) / dz


def series(q: Array, p: Array, z: Array) -> Series:
    """Sum ``2F1(1, p; q + 1; z)`` for each (q, p, z), with the log-derivatives."""
    n_rows = len(z)
    log_sum = np.zeros(n_rows)  # log of the partial sum; term 0 is 1
    s_q, s_p, s_z = np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows)  # sums, scaled
    zero = z <= 0.0
    # with z = 0 only term 0 (= 1) remains; d/dz is the coefficient of z^1
    s_z[zero] = (p / (q + 1.0))[zero]
    active = np.flatnonzero(~zero)
    log_term = np.zeros(len(active))  # log of term n0 of each active row
    h_p = np.zeros(len(active))  # sum_{k<n0} 1/(p+k)
    h_q = np.zeros(len(active))  # sum_{k<n0} 1/(q+1+k)
    n0 = 0
    while len(active) and n0 < MAX_TERMS:
        qa, pa, za = q[active, None], p[active, None], z[active, None]
        n = np.arange(n0, n0 + BLOCK, dtype=np.float64)[None, :]
        log_ratio = np.log((pa + n) / (qa + 1.0 + n) * za)
        # log term n for n in the block: exclusive cumulative sum of the ratios
        lt = log_term[:, None] + np.cumsum(log_ratio, axis=1) - log_ratio
        inv_p = 1.0 / (pa + n)
        dp = h_p[:, None] + np.cumsum(inv_p, axis=1) - inv_p
        inv_q = 1.0 / (qa + 1.0 + n)
        dq = -(h_q[:, None] + np.cumsum(inv_q, axis=1) - inv_q)
        dz = n / za
        if n0 == 0:  # term 0 is already in log_sum = 0 with zero derivatives
            lt, dp, dq, dz = lt[:, 1:], dp[:, 1:], dq[:, 1:], dz[:, 1:]
        top = np.maximum(log_sum[active], lt.max(axis=1))
        old = np.exp(log_sum[active] - top)
        e = np.exp(lt - top[:, None])
        block_sum = e.sum(axis=1)
        new_sum = old + block_sum
        # the derivative sums are kept relative to the running sum (scale-free)
        s_q[active] = (s_q[active] * old + (e * dq).sum(axis=1)) / new_sum
        s_p[active] = (s_p[active] * old + (e * dp).sum(axis=1)) / new_sum
        s_z[active] = (s_z[active] * old + (e * dz).sum(axis=1)) / new_sum
        log_sum[active] = top + np.log(new_sum)
        last_ratio = log_ratio[:, -1]
        log_term = log_term + log_ratio.sum(axis=1)
        h_p = h_p + inv_p.sum(axis=1)
        h_q = h_q + inv_q.sum(axis=1)
        n0 += BLOCK
        # the ratios grow towards z, so the rest is below term_n0 / (1 - z); the derivative
        # sums carry at most a factor (n/z + log terms)
        rho = np.maximum(np.exp(last_ratio), z[active])
        bound = (
            log_term
            - 2.0 * np.log1p(-np.minimum(rho, 1.0 - 2.0**-52))
            + np.log(n0 + 1.0)
            - np.log(z[active])
            + np.log1p(h_p + np.abs(h_q))
        )
        done = bound < log_sum[active] - TAIL
        keep = ~done
        active, log_term, h_p, h_q = active[keep], log_term[keep], h_p[keep], h_q[keep]
    return Series(log_sum, s_q, s_p, s_z)
