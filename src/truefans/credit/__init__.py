"""Credit assignment (attribution) in NumPy/SciPy, with no workspace dependency (issue #5).

* :class:`Journeys` — journeys as flat arrays; :func:`from_lists`, :func:`from_paths` (a
  ``channelattribution``-style paths table), :func:`build_journeys` (from touch and outcome events);
* :func:`rule_credit` / :func:`all_rules` — first, last, last non-direct, linear, time decay,
  position (U), W-shaped;
* :func:`markov_credit` — order 1-4, exact removal effects from the absorbing chain;
* :func:`shapley_credit` — Shapley values over channel sets (exact to 15 channels, else sampled);
* :func:`data_driven_credit` / :func:`holdout_check` — GA4-style: logistic model + Shapley;
* :func:`fit_timing` / :func:`timing_credit` / :func:`timing_holdout` — the timing-aware,
  within-person model (decayed, lagged, saturating exposure; case-crossover likelihood);
* :func:`bootstrap` / :func:`recommend` — intervals over people, stability, the recommendation.

Bad input raises :class:`InvalidJourneys` (a :class:`~truefans.errors.TruefansError`).
"""

from truefans.credit.compare import Interval, bootstrap, person_draws, recommend, summarise
from truefans.credit.datadriven import data_driven_credit, holdout_check
from truefans.credit.journeys import (
    BASELINE,
    NONE,
    Credit,
    InvalidJourneys,
    Journeys,
    build_journeys,
    collapse_paths,
    from_lists,
    from_paths,
)
from truefans.credit.markov import markov_credit, removal_effects
from truefans.credit.rules import RULE_MODELS, all_rules, rule_credit
from truefans.credit.shapley import shapley_credit
from truefans.credit.timing import TimingData, fit_timing, timing_credit, timing_holdout

__all__ = [
    "BASELINE",
    "NONE",
    "RULE_MODELS",
    "Credit",
    "Interval",
    "InvalidJourneys",
    "Journeys",
    "TimingData",
    "all_rules",
    "bootstrap",
    "build_journeys",
    "collapse_paths",
    "data_driven_credit",
    "fit_timing",
    "from_lists",
    "from_paths",
    "holdout_check",
    "markov_credit",
    "person_draws",
    "recommend",
    "removal_effects",
    "rule_credit",
    "shapley_credit",
    "summarise",
    "timing_credit",
    "timing_holdout",
]
