"""Relevance: does a follower or connection match the people the user is trying to reach?

A profile file (YAML or TOML) describes the ideal customer or, for a job seeker, the target
companies and roles::

    # who.yaml
    accounts: [Acme, Northwind Analytics]     # named accounts (career: target_companies)
    titles: [practice manager, owner]          # (career: target_roles)
    seniority: [owner, director]               # c_level owner vp director manager senior entry
    industries: [dental, legal]
    locations: [Boston, Berlin]
    company_sizes: ["11-50"]                   # kept for the record; exports do not say

Matching is fuzzy but explainable, and every match carries its reason:

- **companies** are normalised (case, accents, "&" = "and", punctuation, legal suffixes such as
  Inc, LLC, Ltd, Corporation, GmbH dropped): "Acme, Inc", "ACME Corporation" and "acme" are one
  company; "Acme Bank" and "Acme Foods" stay two, because the words that remain differ. A spelling
  within a small edit distance of a target (e.g. "Nortwind Analytics") matches and says so.
- **titles** are normalised (abbreviations such as Sr, VP, Mgr, CEO expanded) and a target role
  matches when all its words appear in the title ("product manager" matches "Senior Product
  Manager, Payments"); the **seniority** of a title is read from its words.
- **industries** and **locations** match on whole words of the person's field.

``relevance`` is the share of the profile's person criteria (titles, seniority, industries,
locations) a person meets; a person at a named account is relevant whatever the rest, otherwise
relevance >= 0.5 is relevant.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InvalidOption

LEGAL_SUFFIXES = frozenset(
    """inc incorporated llc l l c ltd limited corp corporation co company plc gmbh ag sa sas sarl
    bv nv llp lp pty pte oy ab as spa srl kg kgaa ug the""".split()
)
TITLE_ABBREVIATIONS = {
    "sr": "senior",
    "snr": "senior",
    "jr": "junior",
    "mgr": "manager",
    "mngr": "manager",
    "vp": "vice president",
    "svp": "senior vice president",
    "evp": "executive vice president",
    "ceo": "chief executive officer",
    "cto": "chief technology officer",
    "cfo": "chief financial officer",
    "coo": "chief operating officer",
    "cmo": "chief marketing officer",
    "cio": "chief information officer",
    "cpo": "chief product officer",
    "hr": "human resources",
    "pm": "product manager",
    "eng": "engineer",
    "engr": "engineer",
    "dev": "developer",
    "swe": "software engineer",
    "mktg": "marketing",
    "ops": "operations",
    "dir": "director",
    "assoc": "associate",
    "asst": "assistant",
    "coord": "coordinator",
    "exec": "executive",
    "md": "managing director",
    "geschaftsfuhrer": "managing director",
    "geschaftsfuhrerin": "managing director",
    "cofounder": "co founder",
}
#: seniority levels, highest first, with the title words that show them
SENIORITY = (
    ("c_level", ("chief", "president", "managing director")),
    ("owner", ("owner", "founder", "co founder", "partner", "proprietor", "principal")),
    ("vp", ("vice president",)),
    ("director", ("director", "head")),
    ("manager", ("manager", "lead", "supervisor")),
    ("senior", ("senior", "staff")),
    ("entry", ("junior", "intern", "assistant", "trainee", "apprentice", "associate")),
)
SENIORITY_LEVELS = tuple(s for s, _ in SENIORITY)
#: how close a spelling must be (difflib ratio on normalised names) to count as the same company
COMPANY_SPELLING = 0.9


def _fold(text: str) -> str:
    """Lower case, accents removed, '&' as 'and', punctuation as spaces, single spaces."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).lower()
    t = t.replace("&", " and ").replace("'", "")
    t = re.sub(r"[^a-z0-9]+", " ", t)
    return " ".join(t.split())


def normalise_company(name: str | None) -> str:
    """The company key: folded, legal suffixes and a leading 'the' dropped."""
    if not name or not isinstance(name, str):
        return ""
    words = _fold(name).split()
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    while words and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def normalise_title(title: str | None) -> str:
    """The title with abbreviations expanded, folded."""
    if not title or not isinstance(title, str):
        return ""
    words = _fold(title.replace("-", " ")).split()
    out: list[str] = []
    for w in words:
        out.extend(TITLE_ABBREVIATIONS.get(w, w).split())
    return " ".join(out)


def seniority(title: str | None) -> str | None:
    """The highest seniority level a title's words show, or None."""
    t = f" {normalise_title(title)} "
    if " vice president " in t and " chief " not in t:
        return "vp"
    for level, words in SENIORITY:
        if any(f" {w} " in t for w in words):
            return level
    return None


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


@dataclass(frozen=True)
class Match:
    matched: bool
    reason: str = ""


def match_company(company: str | None, targets: list[str]) -> Match:
    """Is ``company`` one of ``targets``? Same normalised name, or a close spelling."""
    key = normalise_company(company)
    if not key:
        return Match(False)
    for target in targets:
        tkey = normalise_company(target)
        if not tkey:
            continue
        if key == tkey:
            return Match(True, f"company {company!r} is target {target!r} (as {tkey!r})")
    best, best_t = 0.0, ""
    for target in targets:
        tkey = normalise_company(target)
        if len(tkey) < 6 or len(key) < 6 or len(key.split()) != len(tkey.split()):
            continue
        r = SequenceMatcher(None, key, tkey).ratio()
        if r > best:
            best, best_t = r, target
    if best >= COMPANY_SPELLING:
        return Match(
            True, f"company {company!r} is spelt close to target {best_t!r} ({best:.0%} alike)"
        )
    return Match(False)


def match_title(title: str | None, roles: list[str]) -> Match:
    """Does the title hold every word of one of the target roles?"""
    words = {_stem(w) for w in normalise_title(title).split()}
    if not words:
        return Match(False)
    for role in roles:
        need = {_stem(w) for w in normalise_title(role).split()}
        if need and need <= words:
            return Match(True, f"title {title!r} is role {role!r}")
    return Match(False)


def _match_words(value: str | None, wanted: list[str], what: str) -> Match:
    text = f" {_fold(value)} " if isinstance(value, str) else ""
    if not text.strip():
        return Match(False)
    for w in wanted:
        key = _fold(w)
        if key and f" {key} " in text:
            return Match(True, f"{what} {value!r} is {w!r}")
    return Match(False)


def _list(d: dict[str, Any], *keys: str) -> list[str]:
    out: list[str] = []
    for k in keys:
        v = d.get(k)
        if v is None:
            continue
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str | int | float) for x in v):
            raise InvalidOption(f"profile key {k!r} must be a list of names")
        out += [str(x) for x in v]
    return out


@dataclass(frozen=True)
class Profile:
    """Who the user wants to reach (a customer profile or a job seeker's targets)."""

    accounts: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    seniority: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    company_sizes: list[str] = field(default_factory=list)
    kind: str = "customer"
    source: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "") -> Profile:
        if not isinstance(d, dict):
            raise InvalidOption(f"{source or 'profile'}: expected keys such as accounts, titles")
        known = {
            "accounts",
            "named_accounts",
            "companies",
            "target_companies",
            "titles",
            "roles",
            "target_roles",
            "seniority",
            "industries",
            "locations",
            "company_sizes",
            "name",
            "kind",
            "persona",
        }
        unknown = sorted(set(d) - known)
        if unknown:
            raise InvalidOption(
                f"{source or 'profile'}: unknown key(s) {', '.join(unknown)}; use "
                "accounts (or target_companies), titles (or target_roles), seniority, "
                "industries, locations, company_sizes"
            )
        levels = [s.lower().replace("-", "_").replace(" ", "_") for s in _list(d, "seniority")]
        bad = [s for s in levels if s not in SENIORITY_LEVELS]
        if bad:
            raise InvalidOption(
                f"{source or 'profile'}: seniority {', '.join(bad)} unknown; choose from "
                + ", ".join(SENIORITY_LEVELS)
            )
        career = bool(_list(d, "target_companies", "target_roles")) or str(
            d.get("kind", d.get("persona", ""))
        ).lower() in ("career", "jobseeker", "job_seeker")
        p = cls(
            accounts=_list(d, "accounts", "named_accounts", "companies", "target_companies"),
            titles=_list(d, "titles", "roles", "target_roles"),
            seniority=levels,
            industries=_list(d, "industries"),
            locations=_list(d, "locations"),
            company_sizes=_list(d, "company_sizes"),
            kind="career" if career else "customer",
            source=source,
        )
        if not (p.accounts or p.titles or p.seniority or p.industries or p.locations):
            raise InvalidOption(
                f"{source or 'profile'}: names no accounts, titles, seniority, industries or "
                "locations to match"
            )
        return p

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read a YAML (.yaml/.yml) or TOML (.toml) profile file."""
        import yaml

        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise InvalidOption(f"--profile {path}: cannot read it ({e.strerror})") from e
        try:
            data = tomllib.loads(text) if p.suffix.lower() == ".toml" else yaml.safe_load(text)
        except (yaml.YAMLError, tomllib.TOMLDecodeError) as e:
            raise InvalidOption(f"--profile {path}: not valid YAML/TOML ({e})") from e
        return cls.from_dict(data or {}, str(path))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "accounts": self.accounts,
            "titles": self.titles,
            "seniority": self.seniority,
            "industries": self.industries,
            "locations": self.locations,
            "company_sizes": self.company_sizes,
        }


def match_people(people: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Per person (columns company, title, industry, location): ``at_target_company``,
    ``in_target_role``, ``seniority``, ``relevance`` (0-1), ``relevant`` and ``match_reasons``.

    Work is done once per distinct (company, title, industry, location), so a million
    followers with a few thousand distinct companies cost a few thousand matches.
    """
    cols = ["company", "title", "industry", "location"]
    df = people.copy()
    for c in cols:
        if c not in df.columns:
            df[c] = None
    keys = df[cols].astype("object").where(df[cols].notna(), None)
    distinct = keys.drop_duplicates().reset_index(drop=True)
    dims = [
        d
        for d, on in (
            ("titles", profile.titles),
            ("seniority", profile.seniority),
            ("industries", profile.industries),
            ("locations", profile.locations),
        )
        if on
    ]
    rows = []
    for company, title, industry, location in distinct.itertuples(index=False):
        reasons: list[str] = []
        comp = match_company(company, profile.accounts) if profile.accounts else Match(False)
        if comp.matched:
            reasons.append(comp.reason)
        level = seniority(title)
        hits = 0
        role = Match(False)
        if profile.titles:
            role = match_title(title, profile.titles)
            if role.matched:
                hits += 1
                reasons.append(role.reason)
        if profile.seniority and level in profile.seniority:
            hits += 1
            reasons.append(f"seniority {level} (from title {title!r})")
        if profile.industries:
            m = _match_words(industry, profile.industries, "industry")
            if m.matched:
                hits += 1
                reasons.append(m.reason)
        if profile.locations:
            m = _match_words(location, profile.locations, "location")
            if m.matched:
                hits += 1
                reasons.append(m.reason)
        rel = 1.0 if comp.matched else (hits / len(dims) if dims else 0.0)
        rows.append(
            {
                "company": company,
                "title": title,
                "industry": industry,
                "location": location,
                "at_target_company": comp.matched,
                "in_target_role": role.matched,
                "seniority": level,
                "relevance": rel,
                "relevant": comp.matched or (bool(dims) and rel >= 0.5),
                "match_reasons": "; ".join(reasons),
            }
        )
    table = pd.DataFrame(rows)
    out = keys.merge(table, on=cols, how="left")
    out.index = df.index
    return out.drop(columns=cols)
