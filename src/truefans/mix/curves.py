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
from truefans.mix.transforms import Array, saturate, saturate_derivative


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

    def value(self, x: npt.ArrayLike) -> Array:
        """Weekly outcome for weekly amounts ``x``: (draws, len(x))."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        z = self._z(x)
        out = np.zeros((self.draws, x.size))
        for d in range(self.draws):
            if self.kind == "linear":
                f = z
            else:
                f = np.stack([saturate(self.kind, z[g], self.params[d]) for g in range(z.shape[0])])
            out[d] = self.beta[d] @ f
        return out

    def derivative(self, x: npt.ArrayLike) -> Array:
        """Extra weekly outcome per extra unit (dollar or hour) per week: (draws, len(x))."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        z = self._z(x)
        dz = self.geo_share / self.scale
        out = np.zeros((self.draws, x.size))
        for d in range(self.draws):
            if self.kind == "linear":
                f = np.ones_like(z)
            else:
                f = np.stack(
                    [
                        saturate_derivative(self.kind, z[g], self.params[d])
                        for g in range(z.shape[0])
                    ]
                )
            out[d] = (self.beta[d] * dz) @ f
        return out

    def point(self, x: npt.ArrayLike) -> Array:
        return self.value(x)[0]

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
