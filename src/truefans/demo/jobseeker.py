"""A synthetic job search, with the truth about which activities led to interviews.

One person (Maya Okonkwo, a data analyst) looks for a data-science or analytics-manager role
in the first half of 2025. Her world is written as the files she would have: LinkedIn's own
member export (``Connections.csv`` with its ``Notes:`` preamble, ``messages.csv``) read by the
real LinkedIn importer, and truefans' generic files for what LinkedIn does not export (the
reactions to her posts, her personal website's visits, employee referrals, and the outcomes she
records: introductions, interviews, offers). A career profile file names her target companies
and roles.

What is planted, so that ``truefans career`` and ``truefans funnel --persona jobseeker`` can be
checked against it (the ``truth`` and ``truth_people`` tables and the ``demo_params`` setting):

* **connections at target companies**, under the spellings people type ("Acme, Inc",
  "ACME Corporation", "acme", a typo of "Northwind Analytics"), beside **decoys** whose names
  share a word with a target ("Acme Bank", "Acme Foods", "Northwind Logistics") and are not it;
  connections in the target roles under title variants ("Sr. Data Scientist", "Mgr, Analytics");
* **two causes of interviews**: a message to a warm connection (someone she has talked to
  before) at the company, who introduces her (an ``introduction``, then, for 85 % of them, the
  ``interview``), and an employee referral (a ``referral`` touch, then the interview); three in
  four run through a target company. About 30 % of interviews end in an ``offer``. Every
  outcome's true cause is in ``truth`` (``linkedin`` for the message path, ``referrals`` for
  the referral path) and in ``demo_params["causes"]``;
* **activity that causes nothing**: likes and comments on her weekly posts (12 % of her
  connections engage: her peers, and 3 % of the people at the companies she targets, who mostly
  do not know her yet), cold messages that get no introduction, and visits to her website and
  resume page (a third of the visitors' companies named by a reverse-IP lookup, a few of them
  target companies or decoys). Such activity at a target company can still come before an interview
  there by chance: ``career`` counts what came before, it does not test what caused;
* the expected ``funnel --persona jobseeker`` counts, computed here from the planted rows by
  the funnel's definitions (``demo_params["funnel"]``).

Everything comes from one :func:`numpy.random.default_rng`, so a seed and size always give the
same files, byte for byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..errors import TruefansError, UnusableFile

if TYPE_CHECKING:
    from ..workspace import Workspace

#: connections of the job seeker per size (LinkedIn caps connections at 30,000)
SIZES = {"small": 600, "medium": 5_000, "large": 30_000}
SEEKER = "Maya Okonkwo"
SEEKER_URL = "https://www.linkedin.com/in/maya-okonkwo-7a1"
SITE = "https://mayaokonkwo.example"

#: target companies as the profile names them, and the spellings connections use for them
TARGETS: dict[str, tuple[str, ...]] = {
    "Acme Inc.": ("Acme, Inc", "ACME Corporation", "acme", "Acme Inc."),
    "Northwind Analytics": (
        "Northwind Analytics",
        "Northwind Analytics LLC",
        "northwind analytics",
        "Nortwind Analytics",
    ),
    "Globex": ("Globex", "Globex Corporation", "GLOBEX GmbH"),
    "Initech": ("Initech", "Initech, LLC", "INITECH Ltd"),
    "Umbrella Health": ("Umbrella Health", "Umbrella Health, Inc.", "umbrella health"),
}
#: names that share a word with a target and are other companies
DECOYS = (
    "Acme Bank",
    "Acme Foods",
    "Northwind Logistics",
    "Globex Bank",
    "Initech Foods",
    "Umbrella Insurance",
)
OTHER_COMPANIES = (
    "Bluebird Logistics",
    "Cedar Labs",
    "Harbor Pine Studio",
    "Lumen Retail",
    "Kestrel Capital",
    "Meridian Hospital",
    "Oakridge University",
    "Pinnacle Insurance",
    "Quarry Software",
    "Redwood Media",
    "Sable Energy",
    "Tidewater Bank",
    "Vantage Consulting",
    "Willow Health Partners",
    "Zephyr Games",
    "Brightleaf Dental",
    "Copperline Telecom",
    "Driftwood Travel",
    "Evergreen Foods",
    "Foxglove Pharma",
    "Granite Construction Group",
    "Halcyon Robotics",
    "Ironbark Security",
    "Juniper Schools",
    "Larkspur Apparel",
    "Mosaic Marketing",
    "Nimbus Cloud",
    "Orchard Analytics Group",
    "Prism Biotech",
    "Summit Realty",
)
TARGET_ROLES = ("data scientist", "analytics manager")
#: titles that are a target role, in the ways people write them
ROLE_TITLES = (
    "Data Scientist",
    "Senior Data Scientist",
    "Sr. Data Scientist",
    "Lead Data Scientist",
    "Data Scientist II",
    "Analytics Manager",
    "Mgr, Analytics",
    "Senior Analytics Manager",
)
#: titles that are not (some share a word with a target role)
OTHER_TITLES = (
    "Data Analyst",
    "Data Engineer",
    "Analytics Engineer",
    "Software Engineer",
    "Product Manager",
    "Marketing Manager",
    "Technical Recruiter",
    "Talent Acquisition Partner",
    "Account Executive",
    "Business Analyst",
    "Operations Manager",
    "Director of Engineering",
    "UX Designer",
    "Science Teacher",
    "Customer Success Manager",
    "Financial Analyst",
)
FIRST = (
    "Ada Ben Carmen Dev Elena Farid Grace Hugo Ines Jamal Kenji Lena Marco Nadia Omar Priya "
    "Quinn Rosa Sami Tara Umar Vera Wei Ximena Yusuf Zoe Aisha Bruno Chloe Diego Emeka Freya "
    "Gustavo Hana Ivan Julia Kwame Lucia Mateo Noor Oscar Paula Rahul Sofia Tomas Ursula Victor "
    "Wanjiru Xavier Yara Zainab Anders Bea Cyrus Dalia Erik Fatima Goran Helga Ilya"
).split()
LAST = (
    "Lindqvist Okafor Ruiz Patel Moreau Haddad Kim Martin Wright Tanaka Fischer Rossi Nowak "
    "Silva Chen Nguyen Garcia Müller Kowalski Dubois Osei Novak Hansen Costa Ibrahim Jensen "
    "Kaur Larsen Mensah Nakamura Olsen Pereira Quist Reyes Santos Torres Umeh Varga Weber Xu "
    "Yilmaz Zhang Abbott Baptiste Castillo Dahl Eze Ferreira Gallo Horvath Ito Jovanovic Kane"
).split()
POST_TOPICS = (
    "What I learned cleaning a million rows of survey data",
    "Three charts that changed a pricing decision",
    "Why my A/B test was wrong (and how I noticed)",
    "A gentle introduction to survival analysis",
    "SQL window functions I use every week",
    "Forecasting demand with too little history",
    "What hiring managers asked me about my portfolio",
    "Notes from a data meetup",
)
PAGES = (
    ("/", "Maya Okonkwo — data analyst"),
    ("/projects", "Projects"),
    ("/blog/survival-analysis", "Survival analysis, gently"),
    ("/resume", "Resume"),
)
RESUME_PAGE = 3

START = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)  # the search starts
END = dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
POSTS_FROM = dt.datetime(2024, 7, 2, 9, tzinfo=dt.UTC)
#: share of connections who react to her posts: her peers (elsewhere) and the few people at the
#: companies she targets who know her work already
ENGAGER_SHARE = 0.12
ENGAGER_SHARE_AT_TARGETS = 0.03
TARGET_SHARE = 0.07
DECOY_SHARE = 0.03
ROLE_SHARE = 0.10
EMAIL_SHARE = 0.2
HISTORY_SHARE = 0.12
OFFER_RATE = 0.3
INTRO_TO_INTERVIEW = 0.85
#: the funnel's conversation kinds (truefans.measure.funnel.PRESETS["jobseeker"])
CONVERSATION_KINDS = ("message", "reply", "meeting", "call", "comment")
STEPS = ("connection", "conversation", "known", "introduction", "interview", "offer")


@dataclass
class JobSearch:
    """The files of a job search (name -> bytes) and its ground truth."""

    files: dict[str, bytes]
    profile: dict[str, list[str]]
    #: outcome_id, channel_id: the channel of each outcome's true cause
    truth: list[tuple[str, str]]
    #: person_id, label
    truth_people: list[tuple[str, str]]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Person:
    pid: str
    first: str
    last: str
    url: str
    company: str | None
    title: str | None
    email: str | None
    connected: dt.date
    target: str | None = None  # the profile's name of their company, when a target
    decoy: bool = False
    role: bool = False

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def _slug(text: str) -> str:
    folded = text.lower().replace("ü", "u").replace(".", "")
    return "-".join(folded.split())


class _Gen:
    def __init__(self, seed: int, size: str) -> None:
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.size = size
        self.n = SIZES[size]
        self.touches: list[dict[str, Any]] = []
        self.messages: list[list[str]] = []
        self.outcomes: list[dict[str, Any]] = []
        self.causes: list[dict[str, Any]] = []
        #: (person, channel, kind, time) of every touch, LinkedIn messages included
        self.touches_seen: list[tuple[str, str, str, dt.datetime]] = []
        self.engagers: set[str] = set()
        self._conv = 0

    # -- helpers -------------------------------------------------------------------------
    def _u(self) -> float:
        return float(self.rng.random())

    def _choice(self, seq: tuple[str, ...] | list[str]) -> str:
        return seq[int(self.rng.integers(len(seq)))]

    def _between(self, a: dt.datetime, b: dt.datetime) -> dt.datetime:
        span = int((b - a).total_seconds())
        return a + dt.timedelta(seconds=int(self.rng.integers(span)))

    def _after(self, t: dt.datetime, lo_days: float, hi_days: float) -> dt.datetime:
        d = lo_days + (hi_days - lo_days) * self._u()
        return (t + dt.timedelta(days=d)).replace(microsecond=0)

    # -- connections ---------------------------------------------------------------------
    def connections(self) -> list[_Person]:
        n = self.n
        middle = n > len(FIRST) * len(LAST) // 3
        space = len(FIRST) * len(LAST) * (26 if middle else 1)
        codes = self.rng.choice(space, size=n, replace=False)
        kind = self.rng.random(n)
        people = []
        day0 = dt.date(2014, 1, 1)
        old_days = (dt.date(2024, 12, 31) - day0).days
        new_days = (END.date() - START.date()).days
        targets = list(TARGETS)
        seen: dict[str, int] = defaultdict(int)  # each spelling in turn, so all of them appear
        for i in range(n):
            c = int(codes[i])
            first = FIRST[c % len(FIRST)]
            c //= len(FIRST)
            last = LAST[c % len(LAST)]
            if middle:
                first = f"{first} {chr(ord('A') + c // len(LAST))}."
            url = (
                f"https://www.linkedin.com/in/{_slug(first)}-{_slug(last)}-{i:x}{self.seed % 16:x}"
            )
            target = None
            decoy = False
            if kind[i] < TARGET_SHARE:
                target = targets[seen["target"] % len(targets)]
                seen["target"] += 1
                company: str | None = TARGETS[target][seen[target] % len(TARGETS[target])]
                seen[target] += 1
            elif kind[i] < TARGET_SHARE + DECOY_SHARE:
                company = DECOYS[seen["decoy"] % len(DECOYS)]
                seen["decoy"] += 1
                decoy = True
            elif self._u() < 0.06:
                company = None  # LinkedIn exports leave Company empty now and then
            else:
                company = self._choice(OTHER_COMPANIES)
            role = self._u() < ROLE_SHARE * (2.0 if target else 1.0)
            title: str | None = self._choice(ROLE_TITLES if role else OTHER_TITLES)
            if company is None and self._u() < 0.5:
                title = None
                role = False
            email = None
            if self._u() < EMAIL_SHARE:
                email = f"{_slug(first).replace('-', '')}.{_slug(last)}{i}@mail.example"
            if self._u() < 0.3:
                connected = START.date() + dt.timedelta(days=int(self.rng.integers(new_days)))
            else:
                connected = day0 + dt.timedelta(days=int(self.rng.integers(old_days)))
            people.append(
                _Person(
                    f"c{i + 1:05d}",
                    first,
                    last,
                    url,
                    company,
                    title,
                    email,
                    connected,
                    target,
                    decoy,
                    role,
                )
            )
        return people

    # -- LinkedIn messages ---------------------------------------------------------------
    def _conversation(self, p: _Person, lines: list[tuple[bool, dt.datetime, str]]) -> None:
        """Messages of one conversation; ``mine`` says who wrote each."""
        self._conv += 1
        h = hashlib.sha256(f"{self.seed}:{self._conv}".encode()).hexdigest()[:30]
        conv = f"2-{h}"
        for mine, ts, text in lines:
            if mine:
                row = [conv, "", SEEKER, SEEKER_URL, p.name, p.url, _iso(ts), "", text, "INBOX"]
            else:
                row = [conv, "", p.name, p.url, SEEKER, SEEKER_URL, _iso(ts), "", text, "INBOX"]
            self.messages.append(row)
            self.touches_seen.append((p.pid, "linkedin", "message", ts))

    def history(self, people: list[_Person]) -> set[str]:
        """Old conversations (2022-2024): who is a warm connection when the search starts."""
        warm = set()
        t0, t1 = dt.datetime(2022, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
        for p in people:
            share = HISTORY_SHARE * (4.0 if p.target else 1.0)
            if self._u() >= share:
                continue
            start = max(t0, dt.datetime.combine(p.connected, dt.time(12), tzinfo=dt.UTC))
            if start >= t1:
                continue
            ts = self._between(start, t1)
            lines = [(False, ts, "Great to meet you at the meetup!")]
            lines.append((True, self._after(ts, 0.05, 2), "Likewise - let's keep in touch."))
            self._conversation(p, lines)
            warm.add(p.pid)
        return warm

    # -- the planted causes --------------------------------------------------------------
    def _outcome(self, typ: str, p: _Person, ts: dt.datetime, channel: str, activity: str) -> str:
        oid = f"o{len(self.outcomes) + 1:04d}"
        self.outcomes.append({"outcome_id": oid, "person_id": p.pid, "ts": ts, "type": typ})
        self.causes.append(
            {
                "outcome_id": oid,
                "type": typ,
                "person_id": p.pid,
                "company": p.company,
                "target": p.target,
                "channel_id": channel,
                "activity": activity,
            }
        )
        return oid

    def _interview_and_offer(self, p: _Person, ts: dt.datetime, ch: str, act: str) -> None:
        self._outcome("interview", p, ts, ch, act)
        if self._u() < OFFER_RATE:
            self._outcome("offer", p, self._after(ts, 10, 25), ch, act)

    def paths(self, people: list[_Person], warm: set[str]) -> set[str]:
        """Warm messages -> introductions -> interviews, and referrals -> interviews."""
        k = max(1.0, (self.n / SIZES["small"]) ** 0.5)
        n_msg, n_ref = round(10 * k), round(8 * k)
        latest = END - dt.timedelta(days=60)
        warm_people = [p for p in people if p.pid in warm]
        order = self.rng.permutation(len(warm_people))
        # three in four paths run through a target company
        at_target = [warm_people[i] for i in order if warm_people[i].target]
        elsewhere = [warm_people[i] for i in order if not warm_people[i].target]
        used: set[str] = set()

        def take(pool: list[_Person], count: int) -> list[_Person]:
            out = [p for p in pool if p.pid not in used][:count]
            used.update(p.pid for p in out)
            return out

        n_t = round(n_msg * 0.75)
        for p in take(at_target, n_t) + take(elsewhere, n_msg - n_t):
            t0 = self._between(START, latest)
            reply = self._after(t0, 0.05, 2)
            self._conversation(
                p,
                [
                    (True, t0, f"Hi {p.first}! I'm looking for my next data role - any openings?"),
                    (False, reply, "Yes! Let me introduce you to our hiring manager."),
                ],
            )
            intro = self._after(reply, 1, 8)
            self._outcome("introduction", p, intro, "linkedin", "message")
            if self._u() < INTRO_TO_INTERVIEW:
                self._interview_and_offer(p, self._after(intro, 5, 18), "linkedin", "message")
        # referrals: a connection (warm or not) refers her through the employer's programme
        pool = [people[i] for i in self.rng.permutation(len(people))]
        r_t = round(n_ref * 0.75)
        refs = take([p for p in pool if p.target], r_t)
        refs += take([p for p in pool if not p.target], n_ref - r_t)
        for p in refs:
            t0 = self._between(START, latest)
            self.touches.append(
                {
                    "touch_id": f"referral:{p.pid}",
                    "person_id": p.pid,
                    "ts": t0,
                    "channel_id": "referrals",
                    "content_id": None,
                    "kind": "referral",
                }
            )
            self.touches_seen.append((p.pid, "referrals", "referral", t0))
            self._interview_and_offer(p, self._after(t0, 3, 12), "referrals", "referral")
        return used

    def cold_messages(self, people: list[_Person], used: set[str]) -> None:
        """Messages during the search that lead nowhere (no introduction follows)."""
        count = round(40 * max(1.0, (self.n / SIZES["small"]) ** 0.5))
        pool = [p for p in people if p.pid not in used]
        for i in self.rng.choice(len(pool), size=min(count, len(pool)), replace=False):
            p = pool[int(i)]
            used.add(p.pid)
            t0 = self._between(START, END - dt.timedelta(days=1))
            lines = [(True, t0, f"Hi {p.first}, hope you're well - are you hiring analysts?")]
            if self._u() < 0.4:
                lines.append((False, self._after(t0, 0.1, 3), "Not at the moment, sorry!"))
            self._conversation(p, lines)

    # -- posts and reactions -------------------------------------------------------------
    def posts(self, people: list[_Person]) -> list[dict[str, Any]]:
        posts: list[dict[str, Any]] = []
        t = POSTS_FROM
        i = 0
        while t < END:
            urn = 7_200_000_000_000_000_000 + self.seed * 1_000_000 + i * 7919
            posts.append(
                {
                    "content_id": f"post:{t:%Y-%m-%d}",
                    "channel_id": "linkedin",
                    "published_at": t,
                    "format": "post",
                    "title": POST_TOPICS[i % len(POST_TOPICS)],
                    "url": f"https://www.linkedin.com/feed/update/urn:li:activity:{urn}",
                }
            )
            t += dt.timedelta(days=7)
            i += 1
        share = np.array([ENGAGER_SHARE_AT_TARGETS if p.target else ENGAGER_SHARE for p in people])
        engager = self.rng.random(len(people)) < share
        for post in posts:
            like_p = np.where(engager, 0.3, 0.002)
            likes = np.flatnonzero(self.rng.random(len(people)) < like_p)
            comments = np.flatnonzero(self.rng.random(len(people)) < np.where(engager, 0.04, 0))
            for kind, idx in (("like", likes), ("comment", comments)):
                for j in idx:
                    p = people[int(j)]
                    ts = self._after(post["published_at"], 0.01, 4)
                    self.touches.append(
                        {
                            "touch_id": f"{kind}:{post['content_id']}:{p.pid}",
                            "person_id": p.pid,
                            "ts": ts,
                            "channel_id": "linkedin",
                            "content_id": post["content_id"],
                            "kind": kind,
                        }
                    )
                    self.touches_seen.append((p.pid, "linkedin", kind, ts))
        self.engagers = {people[int(j)].pid for j in np.flatnonzero(engager)}
        return posts

    # -- the personal website ------------------------------------------------------------
    def website(self) -> list[dict[str, Any]]:
        visitors = []
        n = round(self.n * 0.25)
        t0 = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
        for v in range(n):
            pid = f"v{v + 1:05d}"
            r = self._u()
            company: str | None = None
            if r < 0.04:
                company = self._choice(TARGETS[self._choice(list(TARGETS))])
            elif r < 0.07:
                company = self._choice(DECOYS)
            elif r < 0.35:
                company = self._choice(OTHER_COMPANIES)
            visitors.append({"person_id": pid, "company": company})
            for k in range(1 + int(self.rng.poisson(1.0))):
                ts = self._between(t0, END)
                page = RESUME_PAGE if self._u() < 0.2 else int(self.rng.integers(RESUME_PAGE))
                self.touches.append(
                    {
                        "touch_id": f"visit:{pid}:{k}",
                        "person_id": pid,
                        "ts": ts,
                        "channel_id": "website",
                        "content_id": f"page:{PAGES[page][0]}",
                        "kind": "visit",
                    }
                )
                self.touches_seen.append((pid, "website", "visit", ts))
        return visitors

    # -- everything ----------------------------------------------------------------------
    def run(self) -> JobSearch:
        people = self.connections()
        warm = self.history(people)
        used = self.paths(people, warm)
        self.cold_messages(people, used)
        posts = self.posts(people)
        visitors = self.website()
        files = {
            "Connections.csv": _connections_csv(people),
            "messages.csv": _csv_bytes(
                [
                    "CONVERSATION ID",
                    "CONVERSATION TITLE",
                    "FROM",
                    "SENDER PROFILE URL",
                    "TO",
                    "RECIPIENT PROFILE URLS",
                    "DATE",
                    "SUBJECT",
                    "CONTENT",
                    "FOLDER",
                ],
                sorted(self.messages, key=lambda r: (r[6], r[0])),
            ),
        }
        files.update(self._generic(people, posts, visitors))
        profile = {"target_companies": list(TARGETS), "target_roles": list(TARGET_ROLES)}
        truth = [(c["outcome_id"], c["channel_id"]) for c in self.causes]
        labels: list[tuple[str, str]] = []
        for p in people:
            if p.target:
                labels.append((p.pid, f"target_company:{p.target}"))
            if p.decoy:
                labels.append((p.pid, "decoy_company"))
            if p.role:
                labels.append((p.pid, "target_role"))
            if p.pid in warm:
                labels.append((p.pid, "warm_connection"))
            if p.pid in self.engagers:
                labels.append((p.pid, "engager"))
        params: dict[str, Any] = {
            "persona": "jobseeker",
            "seeker": SEEKER,
            "connections": len(people),
            "profile": profile,
            "causes": [{**c, "ts": None} for c in self.causes],
            "causal_activities": {
                "introduction": [["linkedin", "message"]],
                "interview": [["linkedin", "message"], ["referrals", "referral"]],
                "offer": [["linkedin", "message"], ["referrals", "referral"]],
            },
            "funnel": self._funnel_truth(people),
            "search": [START.date().isoformat(), END.date().isoformat()],
        }
        return JobSearch(files, profile, truth, sorted(labels), params)

    def _generic(
        self, people: list[_Person], posts: list[dict[str, Any]], visitors: list[dict[str, Any]]
    ) -> dict[str, bytes]:
        channels = [
            ("linkedin", "LinkedIn", "social", "linkedin", False),
            ("website", "Personal website", "web", "self", True),
            ("referrals", "Employee referrals", "referral", "self", False),
        ]
        out = {
            "channels.parquet": _parquet(
                "channels",
                {
                    "channel_id": [c[0] for c in channels],
                    "name": [c[1] for c in channels],
                    "kind": [c[2] for c in channels],
                    "platform": [c[3] for c in channels],
                    "owned": [c[4] for c in channels],
                },
            ),
            # website visitors: a cookie, and the company a reverse-IP lookup named
            "people.parquet": _parquet(
                "people",
                {
                    "person_id": [v["person_id"] for v in visitors],
                    "company": [v["company"] for v in visitors],
                },
            ),
        }
        pages = [
            {
                "content_id": f"page:{path}",
                "channel_id": "website",
                "format": "page",
                "title": title,
                "url": SITE + path,
            }
            for path, title in PAGES
        ]
        contents = posts + pages
        cols = ("content_id", "channel_id", "published_at", "format", "title", "url")
        out["contents.parquet"] = _parquet(
            "contents", {c: [r.get(c) for r in contents] for c in cols}
        )
        # the connections' profile URLs under the ids the other generic files use; the LinkedIn
        # import then finds each connection already known by its URL
        ids: list[tuple[str, str, str | None, str]] = [
            (p.pid, "profile_url", None, p.url) for p in people
        ]
        ids += [(v["person_id"], "cookie", "website", f"ck-{v['person_id']}") for v in visitors]
        out["identities.parquet"] = _parquet(
            "identities",
            {
                "person_id": [i[0] for i in ids],
                "kind": [i[1] for i in ids],
                "platform": [i[2] for i in ids],
                "value": [i[3] for i in ids],
            },
        )
        touches = sorted(self.touches, key=lambda r: (r["ts"], r["touch_id"]))
        tcols = ("touch_id", "person_id", "ts", "channel_id", "content_id", "kind")
        out["touchpoints.parquet"] = _parquet(
            "touchpoints", {c: [r[c] for r in touches] for c in tcols}
        )
        ocols = ("outcome_id", "person_id", "ts", "type")
        out["outcomes.parquet"] = _parquet(
            "outcomes", {c: [r[c] for r in self.outcomes] for c in ocols}
        )
        return out

    def _funnel_truth(self, people: list[_Person]) -> dict[str, dict[str, int]]:
        """The jobseeker funnel's at-least counts per channel and overall, from the planted rows
        (a person counts at every step up to the furthest they reached; conversation is an
        active touch of the preset's kinds on that channel, or any later step)."""
        furthest: dict[str, int] = {}
        for p in people:
            if p.email:
                furthest[p.pid] = 2
        rank = {"introduction": 3, "interview": 4, "offer": 5}
        for o in self.outcomes:
            furthest[o["person_id"]] = max(furthest.get(o["person_id"], 0), rank[o["type"]])
        seen: dict[str, set[str]] = {"(all)": set()}
        active: dict[str, set[str]] = {"(all)": set()}
        for p in people:
            seen.setdefault("linkedin", set()).add(p.pid)
            seen["(all)"].add(p.pid)
        for pid, ch, kind, _ in self.touches_seen:
            for key in (ch, "(all)"):
                seen.setdefault(key, set()).add(pid)
                if kind in CONVERSATION_KINDS:
                    active.setdefault(key, set()).add(pid)
        out: dict[str, dict[str, int]] = {}
        for key, who in sorted(seen.items()):
            act = active.get(key, set())
            counts = {STEPS[0]: len(who)}
            counts[STEPS[1]] = sum(1 for q in who if q in act or furthest.get(q, 0) >= 2)
            for st in range(2, 6):
                counts[STEPS[st]] = sum(1 for q in who if furthest.get(q, 0) >= st)
            out[key] = counts
        return out


def _csv_bytes(header: list[str], rows: list[list[str]], preamble: str = "") -> bytes:
    buf = io.StringIO()
    buf.write(preamble)
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _connections_csv(people: list[_Person]) -> bytes:
    """LinkedIn's layout: the Notes: preamble, then First Name ... Connected On (DD Mon YYYY)."""
    preamble = (
        "Notes:\n"
        '"When exporting your connection data, you may notice that some of the email addresses '
        "are missing. You will only see email addresses for connections who have allowed their "
        "connections to see or download their email address using this setting "
        "https://www.linkedin.com/psettings/privacy/email. You can learn more here "
        'https://www.linkedin.com/help/linkedin/answer/261"\n\n'
    )
    header = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position"]
    header.append("Connected On")
    # newest first, as LinkedIn lists them
    ordered = sorted(people, key=lambda p: (p.connected, p.pid), reverse=True)
    rows = [
        [
            p.first,
            p.last,
            p.url,
            p.email or "",
            p.company or "",
            p.title or "",
            p.connected.strftime("%d %b %Y"),
        ]
        for p in ordered
    ]
    return _csv_bytes(header, rows, preamble)


_ARROW = {"str": pa.string(), "enum": pa.string(), "bool": pa.bool_(), "timestamp": None}


def _parquet(table: str, columns: dict[str, list[Any]]) -> bytes:
    """One generic-format Parquet file: the given columns of ``table``, typed as the schema."""
    spec = schema.CANONICAL[table]
    arrays = {}
    for name, values in columns.items():
        typ = spec.column(name).type
        if typ == "timestamp":
            us = [None if v is None else int(v.timestamp() * 1_000_000) for v in values]
            arrays[name] = pa.array(us, type=pa.timestamp("us"))
        else:
            arrays[name] = pa.array(values, type=_ARROW[typ])
    buf = io.BytesIO()
    pq.write_table(pa.table(arrays), buf)
    return buf.getvalue()


def generate(seed: int = 7, size: str = "small") -> JobSearch:
    """The job search for ``seed`` and ``size`` (one of :data:`SIZES`); deterministic."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    return _Gen(seed, size).run()


def profile_path(ws: Workspace) -> Path:
    """Where the demo writes the career profile: next to the workspace file."""
    return ws.path.with_name(ws.path.stem + ".career.toml")


def _toml(profile: dict[str, list[str]]) -> str:
    lines = ["# target companies and roles of the job-seeker demo (truefans career --profile)"]
    for key, values in profile.items():
        lines.append(f"{key} = [{', '.join(json.dumps(v) for v in values)}]")
    return "\n".join(lines) + "\n"


def build_jobseeker_demo(ws: Workspace, seed: int = 7, size: str = "small") -> dict[str, Any]:
    """Replace the workspace's content with the job search; returns what was loaded and the
    profile file written next to the workspace (``truefans career --profile`` reads it).

    Refuses to touch a workspace that holds imports of the user's own data.
    """
    if size not in SIZES:
        raise TruefansError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    if ws.count("imports") and ws.setting("demo") != "true":
        raise TruefansError(
            f"{ws.path} holds your own imports; build the demo in another workspace "
            "(truefans --workspace jobsearch.duckdb demo --persona jobseeker)"
        )
    start = time.perf_counter()
    world = generate(seed=seed, size=size)
    ws.con.execute("BEGIN TRANSACTION")
    schema.clear_all(ws.con)
    ws.con.execute("DELETE FROM settings WHERE key LIKE 'demo%'")
    ws.con.execute("COMMIT")
    with tempfile.TemporaryDirectory(prefix="truefans-jobseeker-") as tmp:
        paths = []
        for name, data in world.files.items():
            path = Path(tmp) / name
            path.write_bytes(data)
            paths.append(path)
        reports = ws.import_files(paths)
    bad = [r for r in reports if r.status != "ok" or r.rejected]
    if bad:
        r = bad[0]
        raise UnusableFile(r.file, f"demo data did not import cleanly: {r.status} {r.message}")
    ws.con.executemany("INSERT INTO truth VALUES (?, ?, NULL)", world.truth)
    ws.con.executemany("INSERT INTO truth_people VALUES (?, ?, NULL)", world.truth_people)
    prof = profile_path(ws)
    prof.write_text(_toml(world.profile), encoding="utf-8")
    ws.set_setting("demo", "true")
    ws.set_setting("demo_persona", "jobseeker")
    ws.set_setting("demo_seed", str(seed))
    ws.set_setting("demo_size", size)
    ws.set_setting("demo_profile", str(prof))
    ws.set_setting("demo_params", json.dumps(world.params, default=str))
    return {
        "people": ws.count("people"),
        "connections": world.params["connections"],
        "touchpoints": ws.count("touchpoints"),
        "outcomes": ws.count("outcomes"),
        "profile": prof,
        "files": [r.file for r in reports],
        "seconds": time.perf_counter() - start,
    }


def truth_caption(ws: Workspace) -> str:
    """One sentence of what the demo planted: which activities caused its outcomes."""
    raw = ws.setting("demo_params")
    params = json.loads(raw) if raw else {}
    if params.get("persona") != "jobseeker":
        raise TruefansError(
            f"{ws.path} holds no job-seeker demo (truefans demo --persona jobseeker)"
        )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in params["causes"]:
        counts[c["type"]][c["activity"]] += 1
    parts = []
    for typ in ("introduction", "interview", "offer"):
        by = counts.get(typ, {})
        if by:
            how = " and ".join(f"{n} after a {act}" for act, n in sorted(by.items()))
            parts.append(f"{sum(by.values())} {typ}s ({how})")
    return (
        "Planted truth: "
        + "; ".join(parts)
        + ". Messages to warm connections and referrals caused them; likes and comments on "
        "posts and website visits caused none (activity at the same company can still come "
        "before an outcome by chance)."
    )
