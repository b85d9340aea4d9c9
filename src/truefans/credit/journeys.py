"""Journeys as flat arrays, and the credit a model hands out.

A :class:`Journeys` holds ``n`` journeys in compressed form: the touches of journey ``j`` are
``channel[offsets[j]:offsets[j + 1]]`` in time order, each with its age in days before the
journey's end (the outcome, or the last touch of a journey that ended without one). A journey
carries ``conversions`` and ``nulls`` (1 and 0 for one converting journey; counts for an
aggregated paths table), the money of its conversions (``value``), optionally the person it
belongs to (for bootstrap over people) and the index of its lead touch (for W-shaped credit).

A journey with no touch that converted is credited to :data:`NONE` ("direct/none") by every model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from truefans.errors import InvalidOption

IntArray = npt.NDArray[np.int64]
#: float arrays (typed loosely: NumPy's stubs type ``bincount`` with weights as integers)
FloatArray = npt.NDArray[Any]
BoolArray = npt.NDArray[np.bool_]

#: the label of conversions with no touch in the lookback window
NONE = "(direct/none)"
#: the label of the outcomes the timing-aware model finds would happen without any channel
BASELINE = "(baseline)"


class InvalidJourneys(InvalidOption):
    """Journeys (or a paths table) that cannot be credited as given."""


@dataclass(frozen=True)
class Journeys:
    channels: tuple[str, ...]
    offsets: IntArray
    channel: IntArray
    age_days: FloatArray
    conversions: FloatArray
    nulls: FloatArray
    value: FloatArray
    person: IntArray | None = None
    lead: IntArray | None = None
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.offsets) - 1
        if n < 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.channel):
            raise InvalidJourneys("journey offsets must start at 0 and end at the touch count")
        if np.any(np.diff(self.offsets) < 0):
            raise InvalidJourneys("journey offsets must not decrease")
        for name in ("conversions", "nulls", "value"):
            arr = getattr(self, name)
            if len(arr) != n:
                raise InvalidJourneys(f"{name} has {len(arr)} entries for {n} journeys")
            if not np.all(np.isfinite(arr)):
                raise InvalidJourneys(f"{name} has missing or infinite numbers")
        if np.any(self.conversions < 0) or np.any(self.nulls < 0):
            raise InvalidJourneys("conversions and nulls must not be negative")
        if len(self.age_days) != len(self.channel):
            raise InvalidJourneys("age_days must have one entry per touch")
        if len(self.channel) and (
            self.channel.min() < 0 or self.channel.max() >= len(self.channels)
        ):
            raise InvalidJourneys("a touch refers to a channel code with no name")
        if np.any(self.age_days < 0):
            raise InvalidJourneys(
                "a touch comes after the end of its journey (its outcome): journeys hold only "
                "touches up to their outcome"
            )
        if len(set(self.channels)) != len(self.channels):
            raise InvalidJourneys("channel names must be distinct")

    # -- derived arrays (cached) -----------------------------------------------------------------

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def lengths(self) -> IntArray:
        return np.diff(self.offsets)

    @property
    def journey_of_touch(self) -> IntArray:
        got = self._cache.get("jidx")
        if got is None:
            got = np.repeat(np.arange(self.n, dtype=np.int64), self.lengths)
            self._cache["jidx"] = got
        return got  # type: ignore[return-value]

    @property
    def position(self) -> IntArray:
        got = self._cache.get("pos")
        if got is None:
            got = np.arange(len(self.channel), dtype=np.int64) - self.offsets[self.journey_of_touch]
            self._cache["pos"] = got
        return got  # type: ignore[return-value]

    def reweighted(self, weight: FloatArray) -> Journeys:
        """The same journeys with conversions, nulls and value multiplied per journey."""
        return replace(
            self,
            conversions=self.conversions * weight,
            nulls=self.nulls * weight,
            value=self.value * weight,
            _cache=self._cache,
        )

    def subset(self, keep: BoolArray) -> Journeys:
        """The journeys where ``keep`` is true (touch arrays cut to match)."""
        lengths = self.lengths[keep]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tmask = np.repeat(keep, self.lengths)
        return Journeys(
            self.channels,
            offsets,
            self.channel[tmask],
            self.age_days[tmask],
            self.conversions[keep],
            self.nulls[keep],
            self.value[keep],
            None if self.person is None else self.person[keep],
            None if self.lead is None else self.lead[keep],
        )


def from_lists(
    paths: Sequence[Sequence[str]],
    conversions: Sequence[float] | FloatArray,
    nulls: Sequence[float] | FloatArray | None = None,
    value: Sequence[float] | FloatArray | None = None,
    ages: Sequence[Sequence[float]] | None = None,
    person: Sequence[int] | IntArray | None = None,
    lead: Sequence[int] | IntArray | None = None,
    channels: Sequence[str] | None = None,
) -> Journeys:
    """Journeys from lists of channel names (time order); ages default to 0 (all at the end)."""
    conv = np.asarray(conversions, dtype=np.float64)
    null = np.asarray(nulls, dtype=np.float64) if nulls is not None else (conv == 0) * 1.0
    val = np.asarray(value, dtype=np.float64) if value is not None else np.zeros(len(conv))
    names = list(channels) if channels is not None else sorted({c for p in paths for c in p})
    code = {c: i for i, c in enumerate(names)}
    flat = [c for p in paths for c in p]
    unknown = sorted(set(flat) - set(code))
    if unknown:
        raise InvalidJourneys(f"channels not in the channel list: {', '.join(unknown[:5])}")
    lengths = np.array([len(p) for p in paths], dtype=np.int64)
    offsets = np.zeros(len(paths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    age = (
        np.array([a for p in ages for a in p], dtype=np.float64)
        if ages is not None
        else np.zeros(len(flat))
    )
    return Journeys(
        tuple(names),
        offsets,
        np.array([code[c] for c in flat], dtype=np.int64),
        age,
        conv,
        null,
        val,
        None if person is None else np.asarray(person, dtype=np.int64),
        None if lead is None else np.asarray(lead, dtype=np.int64),
    )


def from_paths(
    paths: Sequence[str] | pd.Series,
    conversions: Sequence[float] | FloatArray,
    nulls: Sequence[float] | FloatArray | None = None,
    value: Sequence[float] | FloatArray | None = None,
    sep: str = ">",
) -> Journeys:
    """Journeys from a paths table as ``channelattribution`` takes it: ``"a > b > c"`` strings.

    Channel names are stripped of surrounding blanks; a name containing the separator cannot be
    written in this form (use :func:`from_lists`).
    """
    lists = []
    for i, p in enumerate(paths):
        if not isinstance(p, str):
            raise InvalidJourneys(f"path {i} is not text: {p!r}")
        parts = [s.strip() for s in p.split(sep)] if p.strip() else []
        if any(not s for s in parts):
            raise InvalidJourneys(
                f"path {i} ({p!r}) has an empty channel name: a channel name containing "
                f"{sep!r} cannot be written in a '{sep}'-separated path; pass lists instead"
            )
        lists.append(parts)
    return from_lists(lists, conversions, nulls, value)


def collapse_paths(j: Journeys) -> Journeys:
    """Identical journeys (same channels in the same order) folded into one row with counts.

    Ages, persons and lead stages are dropped: the result is for the path-based models (Markov,
    Shapley) and for comparison with tools that take a paths table.
    """
    if j.n == 0:
        return j
    lengths = j.lengths
    maxlen = int(lengths.max()) if len(lengths) else 0
    mat = np.full((j.n, max(maxlen, 1)), -1, dtype=np.int64)
    if len(j.channel):
        mat[j.journey_of_touch, j.position] = j.channel
    _, first, inv = np.unique(mat, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    k = len(first)
    conv = np.bincount(inv, j.conversions, minlength=k)
    null = np.bincount(inv, j.nulls, minlength=k)
    val = np.bincount(inv, j.value, minlength=k)
    rows = mat[first]
    lens = (rows >= 0).sum(axis=1)
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    chan = rows[rows >= 0]
    return Journeys(j.channels, offsets, chan, np.zeros(len(chan)), conv, null, val)


@dataclass(frozen=True)
class Credit:
    """What one model gives each label (channel, content...): conversions and money."""

    model: str
    labels: tuple[str, ...]
    conversions: FloatArray
    value: FloatArray
    #: standard error of ``conversions`` from sampling (sampled Shapley), else None
    stderr: FloatArray | None = None
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def share(self) -> FloatArray:
        total = float(self.conversions.sum())
        return self.conversions / total if total > 0 else np.zeros(len(self.conversions))

    def channel_share(self) -> dict[str, float]:
        """Shares among the real labels only (without direct/none and baseline)."""
        keep = [i for i, lab in enumerate(self.labels) if lab not in (NONE, BASELINE)]
        c = self.conversions[keep].clip(min=0)
        total = float(c.sum())
        return {
            self.labels[i]: (float(x) / total if total else 0.0)
            for i, x in zip(keep, c, strict=True)
        }

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "model": self.model,
                "label": list(self.labels),
                "conversions": self.conversions,
                "value": self.value,
                "share": self.share,
            }
        )


def empty_credit(j: Journeys) -> tuple[FloatArray, FloatArray]:
    """Conversions and value of the converting journeys with no touch (credited to NONE)."""
    empty = j.lengths == 0
    return float(j.conversions[empty].sum()), float(j.value[empty].sum())  # type: ignore[return-value]


def make_credit(
    model: str, j: Journeys, conv: FloatArray, value: FloatArray, **kw: object
) -> Credit:
    """A :class:`Credit` over the channels plus :data:`NONE` for touchless conversions."""
    c0, v0 = empty_credit(j)
    return Credit(
        model,
        (*j.channels, NONE),
        np.append(conv, c0),
        np.append(value, v0),
        **kw,  # type: ignore[arg-type]
    )


def _stream_order(persons: IntArray, times: FloatArray, is_out: BoolArray) -> IntArray:
    """The order by (person, time, touch before outcome, input position), exactly.

    One stable sort of an int64 key (person, millisecond, kind) when it fits in 63 bits, then
    the runs of equal keys (touches in the same millisecond) re-sorted exactly; else a lexsort.
    """
    n = len(persons)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    t0 = float(times.min())
    ms = np.floor((times - t0) * 86_400_000.0).astype(np.int64)
    p_bits = max(int(persons.max()), 1).bit_length()
    t_bits = max(int(ms.max()), 1).bit_length()
    if persons.min() < 0 or p_bits + t_bits + 1 > 62:
        return np.lexsort((is_out, times, persons))
    key = (persons << (t_bits + 1)) | (ms << 1) | is_out.astype(np.int64)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    # runs of the same person and millisecond (whatever the kind): a touch a fraction of a
    # millisecond after an outcome must still come after it
    kt = ks >> 1
    same = np.flatnonzero(kt[1:] == kt[:-1])
    if len(same):
        # rows in runs of equal keys: order them by exact time, then kind, then input position
        in_run = np.zeros(n, dtype=bool)
        in_run[same] = True
        in_run[same + 1] = True
        idx = np.flatnonzero(in_run)
        run_id = np.cumsum(np.r_[True, kt[idx][1:] != kt[idx][:-1]])
        rows = order[idx]
        sub = np.lexsort((rows, is_out[rows], times[rows], run_id))
        order[idx] = rows[sub]
    return order


def build_journeys(
    channels: Sequence[str],
    touch_person: IntArray,
    touch_time: FloatArray,
    touch_channel: IntArray,
    outcome_person: IntArray,
    outcome_time: FloatArray,
    outcome_value: FloatArray | None = None,
    lookback_days: float = 30.0,
    touch_lead: BoolArray | None = None,
) -> tuple[Journeys, IntArray]:
    """Journeys from events (times in days): the in-memory twin of the engine's journeys.

    Per person, the touches in the ``lookback_days`` up to each outcome, starting after the
    person's previous outcome (a touch at the very time of an outcome belongs to it); then the
    touches after the last outcome within ``lookback_days`` of the last of them, as a journey that
    ended without one. An outcome with no person (``-1``) is a journey with no touch. Returns the
    journeys and, per journey, its outcome index (``-1`` for journeys that did not convert).
    """
    n_o = len(outcome_person)
    value = np.zeros(n_o) if outcome_value is None else np.asarray(outcome_value, float)
    # one sorted stream: (person, time, touches before outcomes at equal times)
    persons = np.r_[touch_person, outcome_person]
    times = np.r_[touch_time, outcome_time]
    is_out = np.r_[np.zeros(len(touch_person), bool), np.ones(n_o, bool)]
    src = np.r_[np.arange(len(touch_person)), np.arange(n_o)]
    keep = persons >= 0
    order = _stream_order(persons[keep], times[keep], is_out[keep])
    order = np.flatnonzero(keep)[order]
    p, t, o, s = persons[order], times[order], is_out[order], src[order]
    new_person = np.r_[True, p[1:] != p[:-1]]
    run = np.cumsum(o)  # outcomes so far, including the row itself
    start_count = np.maximum.accumulate(np.where(new_person, run - o, 0))
    before = run - o - start_count  # the person's outcomes strictly before this row
    # each person's outcome count and last touch time of their open journey
    pid_of_row = np.cumsum(new_person) - 1
    n_person_out = np.bincount(pid_of_row, o, minlength=int(pid_of_row.max(initial=-1)) + 1)
    touch_rows = np.flatnonzero(~o)
    out_rows = np.flatnonzero(o)
    pid_t = pid_of_row[touch_rows]
    # the outcome that ends each touch's journey: the person's next one (if any)
    out_key = pid_of_row[out_rows] * (n_o + 1) + before[out_rows]
    t_key = pid_t * (n_o + 1) + before[touch_rows]
    pos = np.searchsorted(out_key, t_key)
    posc = np.minimum(pos, max(len(out_key) - 1, 0))
    found = (pos < len(out_key)) & (out_key[posc] == t_key) if len(out_key) else pos < 0
    tt = t[touch_rows]
    end_t = np.where(found, t[out_rows][posc] if len(out_key) else 0.0, -np.inf)
    is_open = ~found
    # a journey that ended without an outcome ends at its last touch
    last = np.full(len(n_person_out), -np.inf)
    np.maximum.at(last, pid_t[is_open], tt[is_open])
    end_t = np.where(is_open, last[pid_t], end_t)
    age = end_t - tt
    sel = np.flatnonzero(age <= lookback_days)
    n_conv = len(out_key)
    has_open = np.bincount(pid_t[sel][is_open[sel]], minlength=len(n_person_out)) > 0
    open_people = np.flatnonzero(has_open)
    n_open = len(open_people)
    open_rank = np.cumsum(has_open) - 1
    jk = np.where(found[sel], pos[sel], n_conv + open_rank[pid_t[sel]]).astype(np.int64)
    # the stream is in (person, time) order already: a stable sort by journey keeps it
    order2 = np.argsort(jk, kind="stable")
    jk = jk[order2]
    chosen = touch_rows[sel][order2]
    n_j = n_conv + n_open
    lengths = np.bincount(jk, minlength=n_j)
    offsets = np.zeros(n_j + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out_index = s[out_rows]
    conv = np.r_[np.ones(n_conv), np.zeros(n_open)]
    touch_src = s[chosen]
    lead = None
    if touch_lead is not None:
        flag = touch_lead[touch_src]
        jidx = np.repeat(np.arange(n_j), lengths)
        posn = np.arange(len(jidx)) - offsets[jidx]
        lead = np.full(n_j, -1, dtype=np.int64)
        idx = np.flatnonzero(flag)[::-1]  # first lead touch wins
        lead[jidx[idx]] = posn[idx]
    first_row = np.flatnonzero(new_person)
    person_j = np.r_[p[out_rows], p[first_row[open_people]]].astype(np.int64)
    j = Journeys(
        tuple(channels),
        offsets,
        np.asarray(touch_channel)[touch_src].astype(np.int64),
        age[sel][order2],
        conv,
        1.0 - conv,
        np.r_[value[out_index], np.zeros(n_open)],
        person_j,
        lead,
    )
    # anonymous outcomes: touchless converting journeys
    anon = np.flatnonzero(outcome_person < 0)
    if len(anon):
        j = _append_empty(j, value[anon], anon)
        out_index = np.r_[out_index, anon]
    outcome_of = np.r_[out_index[:n_conv], np.full(n_open, -1), out_index[n_conv:]]
    return j, outcome_of.astype(np.int64)


def _append_empty(j: Journeys, value: FloatArray, ids: IntArray) -> Journeys:
    k = len(value)
    return Journeys(
        j.channels,
        np.r_[j.offsets, np.full(k, j.offsets[-1])],
        j.channel,
        j.age_days,
        np.r_[j.conversions, np.ones(k)],
        np.r_[j.nulls, np.zeros(k)],
        np.r_[j.value, value],
        None if j.person is None else np.r_[j.person, -1 - ids],
        None if j.lead is None else np.r_[j.lead, np.full(k, -1)],
    )
