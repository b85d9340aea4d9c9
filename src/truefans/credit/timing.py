"""The timing-aware model: each person compared with themselves over time.

Rule-based and path-based credit look only at which touches came before an outcome, so they hand
the credit to whatever sits next to it: navigational touches (a brand search, a pricing-page visit
in the hours before buying) and the channels that reach the people who would buy anyway. This model
instead asks when a person buys, given that they buy:

* **exposure** to channel ``c`` at time ``t`` is a decaying sum over the person's touches of ``c``,
  ``E_c(t) = sum 2 ** (-(t - s) / h_c)`` over touches at ``s <= t - lag`` (and at most
  ``window_days`` back): touches in the ``lag`` before ``t`` do not count, so navigational touches
  right before an outcome carry no weight;
* the **effect** saturates: the outcome rate is multiplied by ``exp(beta_c * (1 - exp(-E_c /
  kappa_c)))``, ``beta_c >= 0``; the half-life ``h_c`` and saturation ``kappa_c`` of each channel are
  chosen from grids by coordinate search on the likelihood, ``beta`` by L-BFGS-B;
* the **likelihood** is conditional and within-person, as in time-stratified case-crossover designs
  (Maclure 1991; Janes, Sheppard & Lumley 2005): each outcome is compared with the same person at
  the same weekday and hour in other weeks (referents up to ``span_weeks`` either side, within the
  data, not in the ``washout_days`` after one of their outcomes). A person's baseline propensity
  cancels out of the conditional likelihood, which removes the "they would have bought anyway"
  selection between people; a channel earns credit only if outcomes come when its exposure is
  higher than usual for that same person;
* **credit** is each channel's removal effect from the fitted model: the expected outcomes lost
  without it, ``sum over outcomes of 1 - exp(-beta_c * s_c(t))`` (each outcome's attributable
  fraction), in counts and in money; ``sum exp(-eta)`` is the baseline (outcomes expected with no
  channel at all).

What it cannot remove: selection in time (a channel aimed at people at the moment they are about to
buy anyway), and effects that last longer than the referent span. The output says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from .journeys import BASELINE, NONE, Credit, FloatArray, IntArray, InvalidJourneys

HALF_LIVES = (0.5, 1.0, 2.0, 4.0, 7.0, 14.0, 28.0, 56.0)
KAPPAS = (0.5, 1.0, 2.0, 4.0)
MAX_BETA = 20.0
PAIR_CHUNK = 5_000_000


@dataclass(frozen=True)
class TimingData:
    """Touches and outcomes as arrays; times in days on any common origin."""

    channels: tuple[str, ...]
    touch_person: IntArray
    touch_time: FloatArray
    touch_channel: IntArray
    outcome_person: IntArray  # -1 = no person
    outcome_time: FloatArray
    outcome_value: FloatArray
    start: float
    end: float


@dataclass
class TimingFit:
    channels: tuple[str, ...]
    beta: FloatArray
    half_life: FloatArray
    kappa: FloatArray
    log_likelihood: float
    null_log_likelihood: float
    events: int
    rows: int
    converged: bool
    settings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Design:
    stratum: IntArray  # per row
    is_event: np.ndarray
    event_rows: IntArray  # row index of each stratum's event
    event_outcome: IntArray  # outcome index of each stratum
    exposure: list[np.ndarray]  # per channel (n_half_lives, n_rows) float32
    n_strata: int


def _strata(
    d: TimingData, span_weeks: int, washout_days: float, max_referents: int, seed: int
) -> tuple[IntArray, FloatArray, IntArray, np.ndarray, IntArray]:
    """(person, time, stratum, is_event, outcome of stratum) of every row."""
    has = np.flatnonzero(d.outcome_person >= 0)
    if len(has) == 0:
        return (np.zeros(0, np.int64),) * 3 + (np.zeros(0, bool), np.zeros(0, np.int64))  # type: ignore[return-value]
    op = d.outcome_person[has]
    ot = d.outcome_time[has]
    ks = np.array([k for k in range(-span_weeks, span_weeks + 1) if k != 0], dtype=np.int64)
    ref_t = ot[:, None] + 7.0 * ks[None, :]
    ok = (ref_t >= d.start) & (ref_t <= d.end)
    # not in the washout after one of the person's own outcomes
    order = np.lexsort((ot, op))
    sp, st = op[order], ot[order]
    span = (d.end - d.start) + 7.0 * span_weeks + 10.0
    key_o = sp * span + (st - d.start)
    key_r = op[:, None] * span + (ref_t - d.start)
    idx = np.searchsorted(key_o, key_r, side="right") - 1
    prev_ok = idx >= 0
    prev_t = np.where(prev_ok, st[np.maximum(idx, 0)], -np.inf)
    prev_p = np.where(prev_ok, sp[np.maximum(idx, 0)], -1)
    recent = (prev_p == op[:, None]) & (ref_t - prev_t < washout_days) & (ref_t - prev_t > 0)
    ok &= ~recent
    if max_referents and ok.sum(axis=1).max(initial=0) > max_referents:
        rng = np.random.default_rng(seed)
        score = np.where(ok, rng.random(ok.shape), 2.0)
        kth = np.sort(score, axis=1)[:, max_referents - 1 : max_referents]
        ok &= score <= kth
    n = len(has)
    nref = ok.sum(axis=1)
    stratum = np.r_[np.arange(n), np.repeat(np.arange(n), nref)]
    person = np.r_[op, np.repeat(op, nref)]
    time = np.r_[ot, ref_t[ok]]
    is_event = np.r_[np.ones(n, bool), np.zeros(int(nref.sum()), bool)]
    return person, time, stratum, is_event, has


def _exposures(
    d: TimingData,
    person: IntArray,
    time: FloatArray,
    lag: float,
    window: float,
    half_lives: tuple[float, ...],
) -> list[np.ndarray]:
    """Per channel, the decayed exposure of every row for each half-life (float32)."""
    nrows = len(person)
    c_n = len(d.channels)
    out = [np.zeros((len(half_lives), nrows), dtype=np.float32) for _ in range(c_n)]
    if nrows == 0 or len(d.touch_time) == 0:
        return out
    tp, tt, tc = d.touch_person, d.touch_time, d.touch_channel
    if lag > 0 and len(d.outcome_time):
        # touches in the lag before one of the person's outcomes are taken as caused by the
        # coming outcome (navigational): they count for no outcome, not only for their own
        span_o = (d.end - d.start) + window + 800.0
        org = min(d.start, float(tt.min()), float(d.outcome_time.min())) - 1.0
        ok_o = d.outcome_person >= 0
        key_o = np.sort(d.outcome_person[ok_o] * span_o + (d.outcome_time[ok_o] - org))
        key_t = tp * span_o + (tt - org)
        nxt = np.searchsorted(key_o, key_t, side="left")
        gap = np.where(nxt < len(key_o), key_o[np.minimum(nxt, len(key_o) - 1)] - key_t, np.inf)
        keep = ~(gap < lag)
        tp, tt, tc = tp[keep], tt[keep], tc[keep]
        if len(tt) == 0:
            return out
    # touches of one person, channel and hour are one weighted touch (a person with 100,000
    # touches costs at most the hours they span)
    hour = np.floor(tt * 24.0).astype(np.int64)
    hour -= hour.min()
    n_c = np.int64(max(c_n, 1))
    key = (tp * n_c + tc) * (int(hour.max()) + 1) + hour
    uk, inv = np.unique(key, return_inverse=True)
    inv = inv.reshape(-1)
    t_w = np.bincount(inv, minlength=len(uk)).astype(np.float64)
    t_time = np.bincount(inv, tt, minlength=len(uk)) / t_w
    t_person = uk // (int(hour.max()) + 1) // n_c
    t_chan = uk // (int(hour.max()) + 1) % n_c
    span = (d.end - d.start) + window + 800.0
    origin = min(d.start, float(t_time.min())) - window - 1.0
    order = np.lexsort((t_time, t_person))
    t_person, t_chan, t_time, t_w = t_person[order], t_chan[order], t_time[order], t_w[order]
    tkey = t_person * span + (t_time - origin)
    lo = np.searchsorted(tkey, person * span + (time - window - origin), side="left")
    hi = np.searchsorted(tkey, person * span + (time - lag - origin), side="right")
    counts = np.maximum(hi - lo, 0)
    rows_all = np.arange(nrows)
    # chunks of rows so that the (row, touch) pairs stay under PAIR_CHUNK
    cum = np.cumsum(counts)
    start_row = 0
    while start_row < nrows:
        base = cum[start_row - 1] if start_row else 0
        stop = int(np.searchsorted(cum, base + PAIR_CHUNK, side="right"))
        stop = max(stop, start_row + 1)
        sl = slice(start_row, stop)
        cnt = counts[sl]
        total = int(cnt.sum())
        if total:
            r = np.repeat(rows_all[sl], cnt)
            first = np.repeat(lo[sl] - (np.cumsum(cnt) - cnt), cnt)
            ti = first + np.arange(total)
            age = time[r] - t_time[ti]
            ch = t_chan[ti]
            w = t_w[ti]
            for c in np.unique(ch):
                m = ch == c
                rc, ac, wc = r[m], age[m], w[m]
                for k, h in enumerate(half_lives):
                    out[c][k] += np.bincount(rc, wc * np.exp2(-ac / h), minlength=nrows)
        start_row = stop
    return out


def _design(
    d: TimingData,
    lag: float,
    window: float,
    span_weeks: int,
    washout: float,
    max_referents: int,
    half_lives: tuple[float, ...],
    seed: int,
) -> _Design:
    person, time, stratum, is_event, has = _strata(d, span_weeks, washout, max_referents, seed)
    # rows of one stratum together, its event first
    order = np.lexsort((~is_event, stratum))
    person, time, stratum, is_event = person[order], time[order], stratum[order], is_event[order]
    exposure = _exposures(d, person, time, lag, window, half_lives)
    n_strata = int(is_event.sum())
    return _Design(stratum, is_event, np.flatnonzero(is_event), has, exposure, n_strata)


def _stratum_max(eta: FloatArray, des: _Design) -> FloatArray:
    if des.n_strata == 0:
        return np.zeros(0)
    return np.asarray(np.maximum.reduceat(eta, des.event_rows))


def _loglik(
    eta: FloatArray, des: _Design, wts: FloatArray, x: np.ndarray | None = None
) -> tuple[float, FloatArray | None]:
    """Conditional log-likelihood (and its gradient for the columns of ``x``)."""
    mx = _stratum_max(eta, des)
    e = np.exp(eta - mx[des.stratum])
    den = np.bincount(des.stratum, e, minlength=des.n_strata)
    ll = float(wts @ (eta[des.event_rows] - mx - np.log(den)))
    if x is None:
        return ll, None
    p = e / den[des.stratum]
    pw = p * wts[des.stratum]
    grad = x[:, des.event_rows] @ wts - x @ pw
    return ll, grad


def _fit_beta(
    s: np.ndarray, des: _Design, wts: FloatArray, beta0: FloatArray
) -> tuple[FloatArray, float, bool]:
    def f(b: FloatArray) -> tuple[float, FloatArray]:
        ll, g = _loglik(b @ s, des, wts, s)
        assert g is not None
        pen = 1e-3 * float(b @ b)
        return -ll + pen, -g + 2e-3 * b

    res = minimize(
        f,
        beta0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, MAX_BETA)] * len(beta0),
        options={"maxiter": 300},
    )
    return np.asarray(res.x), float(-res.fun), bool(res.success)


def _one_channel(
    col: np.ndarray, offset: FloatArray, des: _Design, wts: FloatArray, b0: float
) -> tuple[float, float]:
    """Best ``beta`` of one column with the others fixed (bounded 1-D Newton); (beta, loglik)."""
    b = max(b0, 0.0)
    for _ in range(25):
        eta = offset + b * col
        mx = _stratum_max(eta, des)
        e = np.exp(eta - mx[des.stratum])
        den = np.bincount(des.stratum, e, minlength=des.n_strata)
        p = e / den[des.stratum]
        m1 = np.bincount(des.stratum, p * col, minlength=des.n_strata)
        m2 = np.bincount(des.stratum, p * col * col, minlength=des.n_strata)
        g = float(wts @ (col[des.event_rows] - m1))
        h = float(wts @ (m2 - m1 * m1)) + 1e-9
        nb = min(max(b + g / h, 0.0), MAX_BETA)
        if abs(nb - b) < 1e-4:
            b = nb
            break
        b = nb
    ll, _ = _loglik(offset + b * col, des, wts)
    return b, ll


def _near(i: int, n: int) -> range:
    return range(max(i - 1, 0), min(i + 2, n))


def fit_timing(
    d: TimingData,
    lag_days: float = 1.0,
    window_days: float = 120.0,
    span_weeks: int = 26,
    washout_days: float = 7.0,
    max_referents: int = 24,
    half_lives: tuple[float, ...] = HALF_LIVES,
    kappas: tuple[float, ...] = KAPPAS,
    weights: FloatArray | None = None,
    sweeps: int = 2,
    seed: int = 0,
    _design_cache: _Design | None = None,
    shapes: TimingFit | None = None,
) -> tuple[TimingFit, _Design]:
    """Fit the timing-aware model; ``weights`` weight each outcome (e.g. bootstrap counts).

    ``shapes``: start from (and with ``sweeps=0`` keep) the half-lives and saturations of an
    earlier fit, refitting only the effects (how the bootstrap draws refit quickly).
    """
    if lag_days < 0 or window_days <= lag_days:
        raise InvalidJourneys(
            f"lag ({lag_days} days) must be >= 0 and below the window ({window_days})"
        )
    des = _design_cache or _design(
        d, lag_days, window_days, span_weeks, washout_days, max_referents, half_lives, seed
    )
    c_n = len(d.channels)
    wts = (
        np.ones(des.n_strata)
        if weights is None
        else np.asarray(weights, dtype=np.float64)[des.event_outcome]
    )
    n_rows = len(des.stratum)
    hk = np.full(c_n, half_lives.index(7.0) if 7.0 in half_lives else len(half_lives) // 2)
    kk = np.full(c_n, kappas.index(1.0) if 1.0 in kappas else 0)
    if shapes is not None:
        hk = np.array([half_lives.index(float(h)) for h in shapes.half_life])
        kk = np.array([kappas.index(float(k)) for k in shapes.kappa])

    def column(c: int, h: int, k: int) -> np.ndarray:
        e = des.exposure[c][h].astype(np.float64)
        return 1.0 - np.exp(-e / kappas[k])

    s = np.zeros((c_n, n_rows))
    for c in range(c_n):
        s[c] = column(c, hk[c], kk[c])
    null_ll, _ = _loglik(np.zeros(n_rows), des, wts)
    if des.n_strata == 0:
        fit = TimingFit(
            d.channels, np.zeros(c_n), np.array(half_lives)[hk], np.array(kappas)[kk], 0.0, 0.0,
            0, 0, False,
        )  # fmt: skip
        return fit, des
    beta0 = np.full(c_n, 0.1) if shapes is None else shapes.beta.copy()
    beta, ll, ok = _fit_beta(s, des, wts, beta0)
    active = [c for c in range(c_n) if des.exposure[c].any()]
    for sweep in range(sweeps):
        for c in active:
            offset = beta @ s - beta[c] * s[c]
            best = (ll, hk[c], kk[c], beta[c])
            # the whole grid first, then the neighbours of the best point
            full = sweep == 0 and shapes is None
            hs = range(len(half_lives)) if full else _near(hk[c], len(half_lives))
            ks = range(len(kappas)) if full else _near(kk[c], len(kappas))
            for h in hs:
                for k in ks:
                    col = column(c, h, k)
                    b, lc = _one_channel(col, offset, des, wts, beta[c])
                    if lc > best[0] + 1e-9:
                        best = (lc, h, k, b)
            ll, hk[c], kk[c], beta[c] = best
            s[c] = column(c, hk[c], kk[c])
        beta, ll, ok = _fit_beta(s, des, wts, beta)
    fit = TimingFit(
        d.channels,
        beta,
        np.array(half_lives, dtype=float)[hk],
        np.array(kappas, dtype=float)[kk],
        ll,
        null_ll,
        des.n_strata,
        n_rows,
        ok,
        {
            "lag_days": lag_days,
            "window_days": window_days,
            "span_weeks": span_weeks,
            "washout_days": washout_days,
            "max_referents": max_referents,
        },
    )
    fit.__dict__["_s_events"] = s[:, des.event_rows]
    return fit, des


def timing_credit(
    d: TimingData, fit: TimingFit, des: _Design, weights: FloatArray | None = None
) -> Credit:
    """Removal effects of the fitted model: outcomes (and money) lost without each channel."""
    s_ev: np.ndarray = fit.__dict__["_s_events"]
    w_all = np.ones(len(d.outcome_person)) if weights is None else np.asarray(weights, float)
    w = w_all[des.event_outcome]
    frac = 1.0 - np.exp(-fit.beta[:, None] * s_ev)  # (channels, events)
    conv = frac @ w
    val = frac @ (w * d.outcome_value[des.event_outcome])
    eta = fit.beta @ s_ev
    base_c = float(np.exp(-eta) @ w)
    base_v = float(np.exp(-eta) @ (w * d.outcome_value[des.event_outcome]))
    anon = d.outcome_person < 0
    none_c = float(w_all[anon].sum())
    none_v = float((w_all * d.outcome_value)[anon].sum())
    return Credit(
        "timing",
        (*d.channels, BASELINE, NONE),
        np.r_[conv, base_c, none_c],
        np.r_[val, base_v, none_v],
        note=(
            "expected outcomes lost without each channel (removal effects of the fitted model); "
            f"{BASELINE} = outcomes expected with no channel at all; channel credits need not sum "
            "to the outcomes (effects multiply)"
        ),
        extra={
            "half_life_days": dict(zip(d.channels, fit.half_life.tolist(), strict=True)),
            "saturation_kappa": dict(zip(d.channels, fit.kappa.tolist(), strict=True)),
            "beta": dict(zip(d.channels, fit.beta.tolist(), strict=True)),
            "log_likelihood": fit.log_likelihood,
            "null_log_likelihood": fit.null_log_likelihood,
            "outcomes_compared": fit.events,
            "converged": fit.converged,
        },
    )


def timing_holdout(d: TimingData, share: float = 0.2, seed: int = 0, **kw: object) -> dict:
    """Fit on ~80 % of the people; on the others' outcomes, the conditional log-likelihood per
    outcome against the no-effect model (each referent as likely as the outcome's own time)."""
    rng = np.random.default_rng(seed)
    persons = np.unique(d.outcome_person[d.outcome_person >= 0])
    held_p = persons[rng.random(len(persons)) < share]
    held = np.isin(d.outcome_person, held_p)
    w_train = (~held).astype(float)
    fit, des = fit_timing(d, weights=w_train, seed=seed, **kw)  # type: ignore[arg-type]
    test = held[des.event_outcome].astype(float)
    if test.sum() == 0:
        return {"ok": False, "reason": "no outcomes to hold out"}
    grid = [float(h) for h in kw.get("half_lives", HALF_LIVES)]  # type: ignore[attr-defined]
    s = np.zeros((len(d.channels), len(des.stratum)))
    for c in range(len(d.channels)):
        h = grid.index(float(fit.half_life[c]))
        s[c] = 1.0 - np.exp(-des.exposure[c][h].astype(float) / fit.kappa[c])
    ll_model, _ = _loglik(fit.beta @ s, des, test)
    ll_null, _ = _loglik(np.zeros(len(des.stratum)), des, test)
    # per-outcome gains, for a standard error
    eta = fit.beta @ s
    per = np.zeros(des.n_strata)
    for e_arr, sign in ((eta, 1.0), (np.zeros_like(eta), -1.0)):
        mx = _stratum_max(e_arr, des)
        den = np.bincount(des.stratum, np.exp(e_arr - mx[des.stratum]), minlength=des.n_strata)
        per += sign * (e_arr[des.event_rows] - mx - np.log(den))
    g = per[test > 0]
    se = float(g.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else float("nan")
    n = float(test.sum())
    return {
        "ok": True,
        "held_out_outcomes": int(n),
        "log_lik_per_outcome": ll_model / n,
        "log_lik_per_outcome_no_effect": ll_null / n,
        "gain_per_outcome": float(g.mean()),
        "gain_stderr": se,
        "better_than_no_effect": bool(g.mean() > 2 * se) if len(g) > 1 else False,
    }
