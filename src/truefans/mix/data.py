"""What a mix model is fitted on, its options, and the checks that turn bad input into clear errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from truefans.errors import TruefansError
from truefans.mix.transforms import Array

Unit = Literal["dollars", "hours"]
Likelihood = Literal["gaussian", "poisson", "negbin"]
Saturation = Literal["hill", "logistic", "linear"]

#: fewest weeks any model is fitted on (below: NotEnoughWeeks)
MIN_WEEKS = 12
#: below this many weeks the model has no yearly seasonality and no saturation (said in the review)
FULL_MODEL_WEEKS = 52


class MixError(TruefansError):
    """The numbers given to the mix model or the planner cannot be used as they are."""


class NotEnoughWeeks(MixError):
    """Too few weeks of history for any mix model."""


@dataclass(frozen=True)
class Input:
    """One media input: dollars or hours per week on one channel (``(weeks,)`` or ``(weeks, geos)``).

    A channel may have two inputs (dollars and hours); organic channels have hours only.
    """

    channel: str
    unit: Unit
    values: npt.ArrayLike

    @property
    def name(self) -> str:
        return f"{self.channel} {self.unit}"


@dataclass(frozen=True)
class LiftTest:
    """A measured experiment: in weeks ``start..end`` (inclusive, 0-based row positions) the input
    ``input_name`` changed by ``delta_spend`` in total and the outcome changed by ``delta_outcome``
    (standard error ``sd``); the outcome change counts the carry-over weeks after the window too."""

    input_name: str
    start: int
    end: int
    delta_spend: float
    delta_outcome: float
    sd: float
    geo: int = 0


@dataclass(frozen=True)
class RoiPrior:
    """The user's belief about an input's return per unit over the data: mean and sd."""

    mean: float
    sd: float


@dataclass(frozen=True)
class MixData:
    """Weekly outcome and inputs; arrays of shape ``(weeks,)`` or ``(weeks, geos)``.

    ``dates`` (optional, one per week) place the yearly seasonality on the calendar; without them
    week ``t`` is at ``t / 52.1775`` years. ``events`` (0/1 indicators) and ``controls`` are extra
    regressors with free signs.
    """

    y: npt.ArrayLike
    inputs: Sequence[Input]
    dates: npt.ArrayLike | None = None
    events: Mapping[str, npt.ArrayLike] = field(default_factory=dict)
    controls: Mapping[str, npt.ArrayLike] = field(default_factory=dict)
    geos: Sequence[str] | None = None


@dataclass(frozen=True)
class MixSpec:
    """Model options. Defaults suit weekly data of one business."""

    likelihood: Likelihood = "gaussian"
    saturation: Saturation = "hill"
    max_lag: int = 8
    trend: bool = True
    fourier_order: int = 2
    lift_tests: Sequence[LiftTest] = ()
    roi_priors: Mapping[str, RoiPrior] = field(default_factory=dict)
    #: deterministic starting points of the non-linear search (at most len(STARTS))
    n_starts: int = 4
    #: inputs active in fewer weeks than this are left out (and said so)
    min_active_weeks: int = 6
    #: weekly inputs correlated above this are reported together ("cannot separate these")
    collinear_threshold: float = 0.9
    #: last weeks kept out for the holdout check (None: 10 % of the weeks, 4 to 13)
    holdout_weeks: int | None = None
    n_boot: int = 200
    level: float = 0.94
    seed: int = 0
    #: weak Gaussian priors (in likelihood units) keeping the curve parameters in plausible ranges
    priors: bool = True


@dataclass(frozen=True)
class Prepared:
    """Validated arrays, all 2-D ``(weeks, geos)``; media as ``(inputs, weeks, geos)``."""

    y: Array
    x: Array
    names: tuple[str, ...]
    channels: tuple[str, ...]
    units: tuple[str, ...]
    dates: npt.NDArray[np.datetime64] | None
    extra: Array  # (weeks, geos, n_extra) events then controls
    extra_names: tuple[str, ...]
    geos: tuple[str, ...]
    dropped: tuple[str, ...]  # inputs left out for too few active weeks

    @property
    def weeks(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_geos(self) -> int:
        return int(self.y.shape[1])


def _as_2d(values: npt.ArrayLike, what: str, weeks: int | None, geos: int | None) -> Array:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise MixError(f"{what}: not numbers ({e})") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise MixError(f"{what} must be one value per week (or per week and geo), got {arr.shape}")
    if weeks is not None and arr.shape[0] != weeks:
        raise MixError(f"{what} has {arr.shape[0]} weeks, the outcome has {weeks}")
    if geos is not None and arr.shape[1] != geos:
        raise MixError(f"{what} has {arr.shape[1]} geos, the outcome has {geos}")
    bad = ~np.isfinite(arr)
    if bad.any():
        week = int(np.argmax(bad.any(axis=1)))
        raise MixError(
            f"{what} has {int(bad.sum())} missing or infinite values (first in week {week}); "
            "fill them (0 for weeks without spend) or drop those weeks"
        )
    return arr


def prepare(data: MixData, spec: MixSpec) -> Prepared:
    """Check ``data`` and return it as 2-D arrays; raise :class:`MixError` saying what is wrong."""
    if not 4 <= spec.max_lag <= 13:
        raise MixError(f"max_lag must be 4 to 13 weeks, got {spec.max_lag}")
    if spec.likelihood not in ("gaussian", "poisson", "negbin"):
        raise MixError(f"unknown likelihood {spec.likelihood!r}")
    if spec.saturation not in ("hill", "logistic", "linear"):
        raise MixError(f"unknown saturation {spec.saturation!r}")
    if not 0.5 < spec.level < 1:
        raise MixError(f"level must be between 0.5 and 1, got {spec.level}")
    y = _as_2d(data.y, "the outcome", None, None)
    weeks, n_geos = y.shape
    if weeks < MIN_WEEKS:
        raise NotEnoughWeeks(
            f"{weeks} week(s) of outcomes: a mix model needs at least {MIN_WEEKS} "
            f"(and {FULL_MODEL_WEEKS} for seasonality and saturation); use the plan's fallback "
            "from average returns until more weeks are in"
        )
    if spec.likelihood != "gaussian" and ((y < 0).any() or (np.abs(y - np.round(y)) > 1e-9).any()):
        raise MixError(f"a {spec.likelihood} likelihood needs whole non-negative counts as outcome")
    if not data.inputs:
        raise MixError("no media inputs given")
    names, xs, channels, units, dropped = [], [], [], [], []
    for inp in data.inputs:
        if inp.unit not in ("dollars", "hours"):
            raise MixError(f"{inp.channel}: unit must be 'dollars' or 'hours', not {inp.unit!r}")
        if inp.name in names or inp.name in dropped:
            raise MixError(f"input {inp.name!r} given twice")
        x = _as_2d(inp.values, inp.name, weeks, n_geos)
        if (x < 0).any():
            week = int(np.argmax((x < 0).any(axis=1)))
            raise MixError(
                f"{inp.name} is negative in {int((x < 0).sum())} week(s) (first week {week}); "
                "spend and hours cannot be negative (refunds belong to the outcome side)"
            )
        active = int((x > 0).any(axis=1).sum())
        if active == 0:
            raise MixError(
                f"{inp.name} is zero in every week: nothing to learn from it; leave it out"
            )
        if active < spec.min_active_weeks:
            dropped.append(inp.name)
            continue
        names.append(inp.name)
        xs.append(x)
        channels.append(inp.channel)
        units.append(inp.unit)
    if not names:
        raise MixError(
            f"every input is active in fewer than {spec.min_active_weeks} weeks: "
            "too little variation to estimate any effect"
        )
    extra_names, extras = [], []
    for kind, group in (("event", data.events), ("control", data.controls)):
        for name, values in group.items():
            arr = _as_2d(values, f"{kind} {name}", weeks, n_geos)
            if np.ptp(arr) == 0:
                continue  # constant: the intercept already covers it
            extra_names.append(name)
            extras.append(arr)
    extra = np.stack(extras, axis=2) if extras else np.zeros((weeks, n_geos, 0))
    dates = None
    if data.dates is not None:
        dates = np.asarray(data.dates, dtype="datetime64[D]")
        if dates.shape != (weeks,):
            raise MixError(f"{len(dates)} dates for {weeks} weeks")
    geos = tuple(data.geos) if data.geos is not None else tuple(f"geo {g}" for g in range(n_geos))
    if len(geos) != n_geos:
        raise MixError(f"{len(geos)} geo names for {n_geos} geos")
    for lt in spec.lift_tests:
        if lt.input_name not in names:
            raise MixError(f"lift test on unknown input {lt.input_name!r} (inputs: {names})")
        if not (0 <= lt.start <= lt.end < weeks) or lt.sd <= 0 or not 0 <= lt.geo < n_geos:
            raise MixError(f"lift test {lt}: window outside the data, bad geo or sd <= 0")
    for name, prior in spec.roi_priors.items():
        if name not in names:
            raise MixError(f"ROI prior on unknown input {name!r} (inputs: {names})")
        if not prior.sd > 0:
            raise MixError(f"ROI prior on {name}: sd must be positive")
    return Prepared(
        y=y,
        x=np.stack(xs),
        names=tuple(names),
        channels=tuple(channels),
        units=tuple(units),
        dates=dates,
        extra=extra,
        extra_names=tuple(extra_names),
        geos=geos,
        dropped=tuple(dropped),
    )
