"""Behaviour signals from a workspace's own data: follow-time bursts and never-engaged followers.

Exports rarely describe a follower, but they say when each one followed, and the touchpoints say
whether they ever acted. Bought followers tend to arrive together and never act.

- **burst**: a follow whose window (an hour when follow times have a time of day, else a day)
  holds at least ``min_count`` follows of the same channel and ``factor`` times the channel's usual
  number for such a window (its follows over the span between its 5th and 95th percentile times).
- **never engaged**: followed at least ``ghost_days`` before ``as_of`` with no active touch (like,
  comment, click, reply ... anything but view/follow/unfollow) ever. Many real followers are quiet
  too, which is why this rule's weight is small: it is a reason, not a verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOUR = 3600.0
DAY = 86_400.0


def follow_bursts(
    channel: pd.Series,
    followed_at: pd.Series,
    min_count: int = 8,
    factor: float = 8.0,
) -> pd.Series:
    """1.0 for a follow inside a burst, 0.0 outside, NaN where the follow time is unknown."""
    out = pd.Series(np.nan, index=followed_at.index, dtype="float64")
    ts = pd.to_datetime(followed_at)
    for _ch, idx in ts.groupby(channel, sort=False).groups.items():
        t = ts.loc[idx].dropna()
        if t.empty:
            continue
        secs = t.to_numpy(dtype="datetime64[s]").astype(np.int64).astype(np.float64)
        has_time = bool((secs % DAY != 0).any())
        width = HOUR if has_time else DAY
        order = np.argsort(secs, kind="stable")
        s = secs[order]
        if has_time:  # sliding window of an hour centred on each follow
            lo = np.searchsorted(s, s - width / 2, side="left")
            hi = np.searchsorted(s, s + width / 2, side="right")
        else:  # the calendar day
            lo = np.searchsorted(s, s, side="left")
            hi = np.searchsorted(s, s + width, side="left")
        count = hi - lo
        p5, p95 = np.quantile(s, [0.05, 0.95])
        span = max(p95 - p5, width)
        usual = len(s) * 0.9 * width / span
        burst = (count >= min_count) & (count >= factor * usual)
        flags = np.empty(len(s))
        flags[order] = burst.astype(np.float64)
        out.loc[t.index] = flags
    return out


def never_engaged(
    followed_at: pd.Series,
    engaged_ever: pd.Series,
    as_of: pd.Timestamp,
    ghost_days: int = 180,
) -> pd.Series:
    """1.0 if followed >= ``ghost_days`` before ``as_of`` and never active; 0.0 if active; NaN
    when the follow is too recent (or undated) to tell."""
    f = pd.to_datetime(followed_at)
    active = engaged_ever.fillna(False).astype(bool)
    old = f.notna() & (f <= as_of - pd.Timedelta(days=ghost_days))
    out = pd.Series(np.nan, index=followed_at.index, dtype="float64")
    out[active] = 0.0
    out[~active & old] = 1.0
    return out
