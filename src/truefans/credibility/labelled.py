"""Readers for the public labelled fake-follower sets, mapped onto truefans' profile features.

Each reader takes the folder the set was saved in and returns a :class:`Labelled`: a frame with
the canonical profile columns of :data:`truefans.credibility.features.PROFILE_COLUMNS` (a column
a set does not have is all missing, never zero) and the label (1 = fake). Nothing here downloads;
the sets and their licences are described in each folder's ``SOURCE.md``. Only a set whose licence
allows derived works may train what ships in the package (today: SRF, CC BY-SA 4.0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .features import PROFILE_COLUMNS


@dataclass(frozen=True)
class Labelled:
    name: str
    platform: str
    licence: str
    frame: pd.DataFrame  # PROFILE_COLUMNS (+ username where known)
    y: np.ndarray  # 1 = fake

    @property
    def shippable(self) -> bool:
        """May a model shipped in the package be derived from this set?"""
        return self.licence.startswith("CC BY-SA") or self.licence.startswith("CC BY ")


def _empty(n: int) -> pd.DataFrame:
    out = pd.DataFrame(index=range(n))
    for c in PROFILE_COLUMNS:
        out[c] = pd.Series(np.nan, index=out.index, dtype="float64")
    out["username"] = pd.Series([None] * n, dtype="object")
    return out


def load_kaggle(folder: Path | str) -> Labelled:
    """Kaggle "Instagram fake spammer genuine accounts" (train + test, 696 rows; licence unknown)."""
    folder = Path(folder)
    raw = pd.concat(
        [pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "test.csv")], ignore_index=True
    )
    f = _empty(len(raw))
    f["followers_count"] = raw["#followers"].astype(float)
    f["following_count"] = raw["#follows"].astype(float)
    f["posts_count"] = raw["#posts"].astype(float)
    f["has_photo"] = raw["profile pic"].astype(float)
    f["bio_length"] = raw["description length"].astype(float)
    f["has_url"] = raw["external URL"].astype(float)
    f["username_digit_share"] = raw["nums/length username"].astype(float)
    return Labelled("kaggle", "instagram", "unknown", f, raw["fake"].to_numpy(np.int64))


def load_instafake(folder: Path | str) -> Labelled:
    """InstaFake, fake-account part (Akyon & Kalfaoglu 2019; 1,194 rows; CC BY-NC 4.0)."""
    folder = Path(folder)
    rows = []
    for name in ("fakeAccountData.json", "realAccountData.json"):
        rows += json.loads((folder / name).read_text())
    raw = pd.DataFrame(rows)
    f = _empty(len(raw))
    f["followers_count"] = raw["userFollowerCount"].astype(float)
    f["following_count"] = raw["userFollowingCount"].astype(float)
    f["posts_count"] = raw["userMediaCount"].astype(float)
    f["has_photo"] = raw["userHasProfilPic"].astype(float)
    f["bio_length"] = raw["userBiographyLength"].astype(float)
    length = raw["usernameLength"].astype(float)
    f["username_length"] = length
    f["username_digits"] = raw["usernameDigitCount"].astype(float)
    f["username_digit_share"] = np.where(length > 0, raw["usernameDigitCount"] / length, np.nan)
    return Labelled("instafake", "instagram", "CC BY-NC 4.0", f, raw["isFake"].to_numpy(np.int64))


def load_srf(folder: Path | str) -> Labelled:
    """SRF Data, hand-labelled followers of Swiss influencers (975 rows; CC BY-SA 4.0)."""
    folder = Path(folder)
    raw = pd.read_csv(folder / "labelled_1000_inclprivate.csv")
    f = _empty(len(raw))
    f["followers_count"] = raw["Number.of.followers"].astype(float)
    f["following_count"] = raw["Number.of.people.they.follow"].astype(float)
    f["posts_count"] = raw["Number.of.posts"].astype(float)
    f["has_photo"] = raw["has_profile_picture"].astype(str).str.upper().eq("TRUE").astype(float)
    f["username"] = raw["Username"].astype(str)
    y = raw["rating"].astype(str).str.upper().eq("TRUE").to_numpy(np.int64)
    return Labelled("srf", "instagram", "CC BY-SA 4.0", f, y)


def load_cresci(folder: Path | str) -> Labelled:
    """Cresci et al. 2015, E13 (genuine) and INT (bought fake) Twitter users (licence unknown).

    Empty ``url`` / ``description`` are Twitter's null (no link, no bio); ``default_profile_image``
    is empty in almost every row, so the photo is left missing; the account age is taken at the
    crawl time in ``updated``.
    """
    folder = Path(folder)
    parts = []
    for name, label in (("E13_users.csv", 0), ("INT_users.csv", 1)):
        part = pd.read_csv(folder / name, dtype={"url": str, "description": str})
        part["__y"] = label
        parts.append(part)
    raw = pd.concat(parts, ignore_index=True)
    f = _empty(len(raw))
    f["followers_count"] = raw["followers_count"].astype(float)
    f["following_count"] = raw["friends_count"].astype(float)
    f["posts_count"] = raw["statuses_count"].astype(float)
    f["bio_length"] = raw["description"].fillna("").str.len().astype(float)
    f["has_url"] = raw["url"].notna().astype(float)
    created = pd.to_datetime(raw["created_at"], format="%a %b %d %H:%M:%S %z %Y", utc=True)
    crawled = pd.to_datetime(raw["updated"], utc=True)
    f["account_age_days"] = (crawled - created).dt.total_seconds() / 86_400.0
    f["username"] = raw["screen_name"].astype(str)
    return Labelled("cresci", "x", "unknown", f, raw["__y"].to_numpy(np.int64))


def load_all(root: Path | str) -> dict[str, Labelled]:
    """The four sets from their folders under ``root`` (e.g. ``shared/data/credibility``)."""
    root = Path(root)
    return {
        "kaggle": load_kaggle(root / "instagram_fake_spammer_genuine"),
        "instafake": load_instafake(root / "instafake"),
        "srf": load_srf(root / "srf_instagram_followers"),
        "cresci": load_cresci(root / "cresci2015_e13_int"),
    }
