"""Customer-lifetime-value models in NumPy/SciPy, with no workspace dependency (issue #4).

* :func:`fit_bgnbd`, :func:`fit_pareto_nbd` — repeat purchases in continuous time
  (``x, t_x, T`` per customer or per distinct row with ``weights``);
* :func:`fit_gamma_gamma` — spend per purchase (``frequency, mean_spend``);
* :func:`fit_bgbb` — transactions at discrete opportunities (``x, t_x, n``);
* :func:`fit_sbg` — subscription renewals (a cohort's survival counts);
* :func:`discounted_clv` — value of a customer from a purchase model and a spend model;
* :func:`collapse` — per-customer arrays to weighted distinct rows.

Every fit is maximum likelihood with analytic gradients from several fixed starting points and
returns a fitted model whose ``report`` (:class:`FitReport`) says whether it converged. Time is
in the caller's unit (days or weeks); rate parameters (alpha, beta of the RFM models) are in
that unit. Bad input raises :class:`InvalidModelData` (a :class:`~truefans.errors.TruefansError`).
"""

from __future__ import annotations

from truefans.models._fit import Collapsed, FitReport, InvalidModelData, collapse
from truefans.models.bgbb import BGBB, fit_bgbb
from truefans.models.bgnbd import BGNBD, fit_bgnbd
from truefans.models.clv import PurchaseModel, discounted_clv, spend_frequency_correlation
from truefans.models.gamma_gamma import GammaGamma, fit_gamma_gamma
from truefans.models.pareto_nbd import ParetoNBD, fit_pareto_nbd
from truefans.models.sbg import SBG, fit_sbg, fit_sbg_cohorts

__all__ = [
    "BGBB",
    "BGNBD",
    "SBG",
    "Collapsed",
    "FitReport",
    "GammaGamma",
    "InvalidModelData",
    "ParetoNBD",
    "PurchaseModel",
    "collapse",
    "discounted_clv",
    "fit_bgbb",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "fit_sbg",
    "fit_sbg_cohorts",
    "spend_frequency_correlation",
]
