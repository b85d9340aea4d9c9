"""A seeded world with the traps of real journeys, and its counterfactual truth.

People buy at a daily rate ``base * intent * exp(sum_c beta_c * (1 - exp(-E_c / kappa_c)))``,
``E_c`` each channel's decayed exposure at the start of the day (half-life per channel). The traps:

* **selection** — retargeting reaches people in proportion to their intent (who would buy anyway);
* **navigational touches** — a brand search and a pricing-page visit in the hours before most
  outcomes, caused by the decision to buy, with no effect of their own;
* **delayed channels** — the newsletter's effect builds over weeks (half-life 21 days), LinkedIn's
  within days;
* **vanity** — Instagram brings many touches and no effect.

The truth is the removal effect: the outcomes lost when a channel's touches are removed and the
world re-simulated with the same random numbers. Used by the tests and the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .journeys import FloatArray
from .timing import TimingData

#: name: (beta, half-life in days, kappa)
EFFECTS: dict[str, tuple[float, float, float]] = {
    "newsletter": (1.0, 21.0, 1.0),
    "linkedin": (0.6, 3.0, 1.0),
    "trade_show": (1.2, 10.0, 1.0),
    "retargeting": (0.25, 2.0, 1.0),
    "instagram": (0.0, 3.0, 1.0),
    "brand_search": (0.0, 1.0, 1.0),
    "pricing_page": (0.0, 1.0, 1.0),
}
CHANNELS = tuple(EFFECTS)
NAVIGATIONAL = ("brand_search", "pricing_page")


@dataclass(frozen=True)
class World:
    data: TimingData
    truth_lost: dict[str, float]  # outcomes lost when the channel is removed

    @property
    def truth_share(self) -> dict[str, float]:
        total = sum(max(v, 0.0) for v in self.truth_lost.values())
        return {k: max(v, 0.0) / total for k, v in self.truth_lost.items()}


def simulate(people: int = 8_000, days: int = 365, seed: int = 1, base: float = 0.0012) -> World:
    rng = np.random.default_rng(seed)
    n_c = len(CHANNELS)
    intent = rng.lognormal(-0.5, 1.0, people)
    intent /= intent.mean()
    tp: list[np.ndarray] = []
    tt: list[np.ndarray] = []
    tc: list[np.ndarray] = []

    def add(p: np.ndarray, t: np.ndarray, c: int) -> None:
        tp.append(p.astype(np.int64))
        tt.append(t.astype(np.float64))
        tc.append(np.full(len(p), c, dtype=np.int64))

    def poisson_touches(rate: np.ndarray, c: int) -> None:
        k = rng.poisson(rate * days)
        p = np.repeat(np.arange(people), k)
        add(p, rng.random(len(p)) * days, c)

    ci = {c: i for i, c in enumerate(CHANNELS)}
    # newsletter: weekly sends to 45 % of people, each opened with probability 0.35
    subs = np.flatnonzero(rng.random(people) < 0.45)
    for day in range(3, days, 7):
        opened = subs[rng.random(len(subs)) < 0.35]
        add(opened, day + 0.3 + rng.random(len(opened)) * 0.6, ci["newsletter"])
    poisson_touches(np.full(people, 0.04) * rng.gamma(2.0, 0.5, people), ci["linkedin"])
    for day in (60, 170, 280):  # three trade shows, 12 % attend each
        att = np.flatnonzero(rng.random(people) < 0.12)
        add(att, day + 0.4 + rng.random(len(att)) * 0.3, ci["trade_show"])
    poisson_touches(0.03 * intent, ci["retargeting"])  # selection: reaches the keen
    poisson_touches(np.full(people, 0.25) * rng.gamma(1.0, 1.0, people), ci["instagram"])
    poisson_touches(np.full(people, 0.004), ci["brand_search"])
    poisson_touches(np.full(people, 0.003), ci["pricing_page"])
    t_person = np.concatenate(tp)
    t_time = np.concatenate(tt)
    t_chan = np.concatenate(tc)

    # daily exposure per channel at the start of each day, and each channel's term of the rate
    terms = np.zeros((n_c, people, days), dtype=np.float32)
    for c, name in enumerate(CHANNELS):
        beta, h, kappa = EFFECTS[name]
        if beta == 0:
            continue
        m = t_chan == c
        day = np.floor(t_time[m]).astype(np.int64)
        # weight of a touch at the start of the next day
        w = np.exp2(-(day + 1 - t_time[m]) / h)
        add_day = np.zeros((people, days + 1))
        np.add.at(add_day, (t_person[m], day + 1), w)
        q = 2.0 ** (-1.0 / h)
        e = np.zeros(people)
        for d in range(days):
            e = e * q + add_day[:, d]
            terms[c, :, d] = beta * (1.0 - np.exp(-e / kappa))
    u = rng.random((people, days)).astype(np.float32)
    log_base = np.log(base * intent)[:, None].astype(np.float32)

    def outcomes(eta: np.ndarray) -> np.ndarray:
        rate = np.exp(log_base + eta)
        return u < -np.expm1(-rate)

    eta_all = terms.sum(axis=0)
    happened = outcomes(eta_all)
    n_all = int(happened.sum())
    lost = {}
    for c, name in enumerate(CHANNELS):
        lost[name] = (
            float(n_all - int(outcomes(eta_all - terms[c]).sum())) if terms[c].any() else 0.0
        )
    o_person, o_day = np.nonzero(happened)
    o_time = o_day + 0.375 + 0.375 * rng.random(len(o_day))
    # navigational touches caused by the decision to buy, hours before the outcome
    nav = rng.random(len(o_time)) < 0.75
    add(o_person[nav], o_time[nav] - rng.uniform(0.5, 6.0, nav.sum()) / 24.0, ci["brand_search"])
    nav = rng.random(len(o_time)) < 0.6
    add(o_person[nav], o_time[nav] - rng.uniform(0.2, 3.0, nav.sum()) / 24.0, ci["pricing_page"])
    value: FloatArray = np.round(rng.gamma(2.0, 150.0, len(o_time)), 2)
    data = TimingData(
        CHANNELS,
        np.concatenate(tp),
        np.concatenate(tt),
        np.concatenate(tc),
        o_person.astype(np.int64),
        o_time,
        value,
        0.0,
        float(days),
    )
    return World(data, lost)
