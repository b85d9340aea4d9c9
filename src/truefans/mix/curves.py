"""Response curves: the weekly outcome expected from a steady weekly amount of one input.

A curve carries draws (index 0 = point estimate, then bootstrap refits) so anything computed
from it has an interval. Because the adstock is normalised, a steady weekly amount ``x`` has a
steady adstock of ``x``, so the curve is ``sum_g beta_g * sat(x * share_g / scale_g)`` over geos
(each geo gets its historical share of the input). The planner only needs :meth:`value` and
:meth:`derivative`; :meth:`ResponseCurve.linear` builds the fallback from average returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from truefans.mix.data import MixError
from truefans.mix.transforms import Array


@dataclass(frozen=True)
class ResponseCurve:
    name: str
    channel: str
    unit: str  # "dollars" or "hours"
    kind: str  # "hill", "logistic" or "linear"
    beta: Array  # (draws, geos) outcome per week at saturation 1 (per scaled unit if linear)
    params: Array  # (draws, n) saturation parameters
    scale: Array  # (geos,)
    geo_share: Array  # (geos,)
    observed: tuple[float, float]  # lowest and highest weekly amount seen (0, 0 if unknown)
    source: str = "mix model"

    @property
    def draws(self) -> int:
        return int(self.beta.shape[0])

    def _z(self, x: Array) -> Array:
        """(geos, len(x)) scaled amounts."""
        return np.asarray(np.outer(self.geo_share / self.scale, x))

    def _sat(self, z: Array, derivative: bool, draws: slice) -> Array:
        """sat (or its derivative) of z (geos, m) for the draws: (draws, geos, m), vectorised."""
        p = self.params[draws][:, None, None, :]
        zz = z[None]
        n = self.beta[draws].shape[0]
        if self.kind == "linear":
            return np.broadcast_to(np.ones_like(zz) if derivative else zz, (n, *z.shape))
        if self.kind == "logistic":
            lam = p[..., 0]
            t = np.tanh(0.5 * lam * zz)
            return np.asarray(0.5 * lam * (1 - t * t) if derivative else t)
        k, s = p[..., 0], p[..., 1]
        zpos = np.where(zz > 0, zz, 1.0)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            h = np.where(zz > 0, 1.0 / (1.0 + np.power(k / zpos, s)), 0.0)
            if not derivative:
                return np.asarray(h)
            d = np.where(zz > 0, s * h * (1 - h) / zpos, np.where(s == 1.0, 1.0 / k, 0.0))
        return np.asarray(d)

    def _eval(self, x: npt.ArrayLike, derivative: bool, draws: slice) -> Array:
        xa = np.atleast_1d(np.asarray(x, dtype=np.float64))
        f = self._sat(self._z(xa), derivative, draws)  # (draws, geos, m)
        w = self.beta[draws] * (self.geo_share / self.scale if derivative else 1.0)
        return np.asarray(np.einsum("dg,dgm->dm", w, f))

    def value(self, x: npt.ArrayLike) -> Array:
        """Weekly outcome for weekly amounts ``x``: (draws, len(x))."""
        return self._eval(x, False, slice(None))

    def derivative(self, x: npt.ArrayLike) -> Array:
        """Extra weekly outcome per extra unit (dollar or hour) per week: (draws, len(x))."""
        return self._eval(x, True, slice(None))

    def point(self, x: npt.ArrayLike) -> Array:
        """Weekly outcome of the point estimate only: (len(x),)."""
        return self._eval(x, False, slice(0, 1))[0]

    def point_derivative(self, x: npt.ArrayLike) -> Array:
        return self._eval(x, True, slice(0, 1))[0]

    def point_both(self, x: float) -> tuple[float, float]:
        """Point value and derivative at one amount, without array overhead (the planner's
        inner loop)."""
        a = self.geo_share / self.scale
        z = a * x
        b = self.beta[0]
        if self.kind == "linear":
            return float(b @ z), float(b @ a)
        if self.kind == "logistic":
            lam = float(self.params[0, 0])
            t = np.tanh(0.5 * lam * z)
            return float(b @ t), float((b * a) @ (0.5 * lam * (1 - t * t)))
        k, s = float(self.params[0, 0]), float(self.params[0, 1])
        if x <= 0:
            return 0.0, float(b @ a) / k if s == 1.0 else 0.0
        h = 1.0 / (1.0 + (k / z) ** s)
        return float(b @ h), float((b * a) @ (s * h * (1 - h) / z))

    def s_shaped(self) -> bool:
        """Convex at first (a Hill curve with slope above 1): flat plans may not be optimal."""
        return self.kind == "hill" and float(self.params[0, 1]) > 1.0

    @classmethod
    def linear(
        cls,
        name: str,
        channel: str,
        unit: str,
        roi: float,
        low: float,
        high: float,
        observed: tuple[float, float] = (0.0, 0.0),
        level: float = 0.94,
        draws: int = 200,
    ) -> ResponseCurve:
        """Straight-line curve from an average return per unit and its interval (the fallback
        when there is no mix model): draws at evenly spaced normal quantiles, deterministic."""
        if not (np.isfinite(roi) and np.isfinite(low) and np.isfinite(high)) or low > high:
            raise MixError(f"{name}: average return {roi} with interval {low}..{high} is unusable")
        sd = (high - low) / (2 * norm.ppf(0.5 + level / 2))
        q = norm.ppf((np.arange(draws - 1) + 0.5) / (draws - 1))
        betas = np.concatenate([[roi], roi + sd * q])[:, None]
        return cls(
            name=name,
            channel=channel,
            unit=unit,
            kind="linear",
            beta=np.asarray(betas, dtype=np.float64),
            params=np.zeros((draws, 0)),
            scale=np.ones(1),
            geo_share=np.ones(1),
            observed=observed,
            source="average returns (no mix model)",
        )
