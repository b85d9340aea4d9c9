"""Marketing-mix model and budget planner in NumPy/SciPy, with no workspace dependency (issue #8).

* :class:`MixData` (weekly outcome, :class:`Input` dollars/hours per channel, dates, events,
  controls; 1-D per week or 2-D per week and geo) and :class:`MixSpec` (options);
* :func:`fit_mix` — point fit only (variable projection, several fixed starts);
* :func:`analyse` — point fit + bootstrap intervals + automatic review → :class:`MixResult`
  (contribution per input weekly and total, share, ROI and marginal ROI per dollar / per hour,
  response and adstock curves, baseline share, fit metrics, checks);
* :func:`plan` — split a budget of dollars and hours over :class:`ResponseCurve` s (from
  :meth:`MixResult.curves` or :meth:`ResponseCurve.linear` for the fallback from average returns).

Bad input raises :class:`MixError` (a :class:`~truefans.errors.TruefansError`).
"""

from __future__ import annotations

from truefans.mix.curves import ResponseCurve
from truefans.mix.data import (
    Input,
    LiftTest,
    MixData,
    MixError,
    MixSpec,
    NotEnoughWeeks,
    RoiPrior,
)
from truefans.mix.fit import FitReport, MixFit, fit_mix
from truefans.mix.intervals import Draws, bootstrap
from truefans.mix.plan import Plan, PlanInput, plan
from truefans.mix.result import Estimate, GroupResult, InputResult, MixResult, analyse, summarise
from truefans.mix.review import Check

__all__ = [
    "Check",
    "Draws",
    "Estimate",
    "FitReport",
    "GroupResult",
    "Input",
    "InputResult",
    "LiftTest",
    "MixData",
    "MixError",
    "MixFit",
    "MixResult",
    "MixSpec",
    "NotEnoughWeeks",
    "Plan",
    "PlanInput",
    "ResponseCurve",
    "RoiPrior",
    "analyse",
    "bootstrap",
    "fit_mix",
    "plan",
    "summarise",
]
