"""Profile and behaviour features of a follower, with missing kept missing and odd values caught.

A follower row may carry any subset of :data:`PROFILE_COLUMNS` (all ``float64``; NaN = the export
does not say) and a ``username``. :func:`prepare` derives the username features, turns impossible
values (negative counts, an account created after it was seen, ``following = 0``, which exports
give when the list could not be read) into missing values and records each one as an *odd* field,
so a scorer can answer "insufficient data" instead of a confident wrong score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COUNT_COLUMNS = ("followers_count", "following_count", "posts_count", "bio_length")
FLAG_COLUMNS = ("has_photo", "has_url", "verified")
USERNAME_COLUMNS = ("username_length", "username_digits", "username_digit_share")
#: every feature a scorer may use; the ``audience`` table gives the first eight
PROFILE_COLUMNS = (
    *COUNT_COLUMNS,
    *FLAG_COLUMNS,
    "account_age_days",
    *USERNAME_COLUMNS,
)


def username_features(names: pd.Series) -> pd.DataFrame:
    """Length, digit count and digit share of each username (NaN where there is none)."""
    s = names.astype("object").where(names.notna(), None)
    s = s.map(lambda v: v.strip().lstrip("@") if isinstance(v, str) and v.strip() else None)
    has = s.notna()
    text = s.fillna("").astype(str)
    length = text.str.len().astype(float)
    digits = text.str.count(r"[0-9]").astype(float)
    out = pd.DataFrame(index=names.index)
    out["username_length"] = length.where(has)
    out["username_digits"] = digits.where(has)
    out["username_digit_share"] = (digits / length.where(length > 0)).where(has)
    return out


def prepare(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The features as floats (missing = NaN) and, per row, the odd fields found ('' if none).

    Username features given as columns win over ones derived from a ``username`` column.
    """
    n = len(frame)
    out = pd.DataFrame(index=frame.index)
    for c in PROFILE_COLUMNS:
        if c in frame.columns:
            out[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
        else:
            out[c] = np.nan
    if "username" in frame.columns:
        derived = username_features(frame["username"])
        for c in USERNAME_COLUMNS:
            out[c] = out[c].fillna(derived[c])
    odd = pd.Series([""] * n, index=frame.index, dtype="object")

    def flag(mask: pd.Series, what: str) -> None:
        if mask.any():
            odd.loc[mask] = odd.loc[mask].map(lambda s: f"{s}; {what}" if s else what)

    for c in COUNT_COLUMNS:
        neg = out[c] < 0
        flag(neg, f"negative {c.replace('_', ' ')}")
        out.loc[neg, c] = np.nan
    future = out["account_age_days"] < 0
    flag(future, "account created in the future")
    out.loc[future, "account_age_days"] = np.nan
    zero_following = out["following_count"] == 0
    flag(zero_following, "following = 0 (the list could not be read?)")
    out.loc[zero_following, "following_count"] = np.nan
    for c in FLAG_COLUMNS:
        bad = out[c].notna() & ~out[c].isin([0.0, 1.0])
        flag(bad, f"{c.replace('_', ' ')} not true/false")
        out.loc[bad, c] = np.nan
    return out, odd
