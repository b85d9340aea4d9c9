"""A synthetic but realistic small business, with the truth about what brought in each outcome.

The business ("Ledgerlight", bookkeeping software and finance advice for small firms) runs eleven
channels through 2024. Follower counts deliberately disagree with money: Instagram has by far the
largest audience and brings almost nothing, while the newsletter and the trade shows have small
audiences and bring a large share of the dollars.

:func:`generate` returns a :class:`World`: one :class:`pyarrow.Table` per canonical table (columns
exactly as in :data:`truefans.schema.CANONICAL`), the ``truth`` table (the channel that truly caused
each outcome) and ``params`` (the generator's settings and the true per-channel figures).

How the data relate to the truth, so that simple attribution can be checked against it:

* about 40 % of outcomes carry a self-reported ``channel_id`` ("how did you hear about us"), which
  is always the true channel (anonymous phone calls always self-report);
* every outcome with a person has a touch in its true channel at most three days before it, and no
  other touch of that person falls between that touch and the outcome, except that for about 10 %
  of outcomes without self-report a touch in another channel (a website visit, an ad click...) is
  placed in between: the realistic noise of last-touch attribution;
* people also have plenty of earlier touches in other channels (social views and likes, opens...),
  so multi-touch attribution has something to spread credit over.

True fans are planted too (the ``truth_people`` table): about 1.2 % of the people, all newsletter
subscribers from the business-minded personas, buy again and again through the year (three or more
purchases, the last in the final weeks, in two or more channels). Everyone else buys at most once,
so a repeat buyer is a planted fan, or one of the few former regulars (``lapsed``) who bought
two to four times in the first four months and then stopped. Some fans are superfans: they write reviews, refer people (a
``referral`` touch) and are named by others as who told them about the business (``referred_by``).

Instagram's follower list (the small world; larger ones keep follower counts only) mixes real followers — the world's people who
use Instagram, and many more who only follow, a quarter of whom like or comment now and then —
with bought and bot followers (``truth_people`` label ``fake_follower``): most arrive in a few
bursts of a few hours, with machine-made usernames, and none ever interacts.

Everything is drawn from one :func:`numpy.random.default_rng` with vectorised NumPy, so the same seed
and size always give identical tables (row order included), and the large size (a million people,
about twenty million touchpoints) takes well under a minute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Size:
    """How big a world to make."""

    people: int
    #: multiplier of the platform audience figures (followers, subscribers of social channels)
    audience_scale: float


SIZES: dict[str, Size] = {
    "small": Size(people=2_000, audience_scale=1.0),
    "medium": Size(people=50_000, audience_scale=25**0.75),
    "large": Size(people=1_000_000, audience_scale=500**0.75),
}

#: people in the small world; outcome counts and costs scale with people / BASE_PEOPLE
BASE_PEOPLE = 2_000
#: scales the personas' background touches so that, with journey and cause touches, people
#: average about twenty touchpoints each
BACKGROUND_TOUCH_FACTOR = 0.95
SELF_REPORT_RATE = 0.40
#: share of outcomes without self-report whose last touch is in another channel than the truth
NOISE_RATE = 0.10
#: same, for self-reported outcomes (they are attributed by their report anyway)
NOISE_RATE_SELF_REPORTED = 0.25
#: share of "call" outcomes that come from an unknown number (anonymous, self-reported)
ANONYMOUS_CALL_RATE = 0.25
REFUND_RATE = 0.02
#: share of people planted as true fans, their personas, purchases and the superfan share
FAN_SHARE = 0.012
FAN_PERSONAS = ("newsletter_reader", "client", "linkedin_pro", "event_goer")
FAN_EXTRA_PURCHASES = 3.0  # mean of the Poisson number of purchases beyond the first three
FAN_ORDER_MEAN = 1_400.0
FAN_CHANNELS = {"newsletter": 0.35, "client_service": 0.3, "website": 0.15, "phone": 0.1}
FAN_CHANNELS["linkedin"] = 0.1
SUPERFAN_SHARE = 0.4
#: former regulars: bought two to four times early in the year, then stopped (not fans any more)
LAPSED_SHARE = 0.02
#: Instagram's follower list (username and follow time, what its export gives): the share of
#: bought or bot followers in it, how many bursts they came in, and the sizes that carry a list
FAKE_FOLLOWER_SHARE = 0.35
FAKE_IN_BURSTS = 0.75
FAKE_BURSTS = 5
FOLLOWER_LIST_SIZES = ("small",)
#: real followers outside the world's 2,000 people who like or comment now and then
ANON_INTERACTING = 0.25
#: last-touch lookback used by the simple attribution the truth is meant to be checked with
LOOKBACK_DAYS = 30
#: the cause touch is at most this long before its outcome
MAX_CAUSE_DELAY = 3 * 86_400
#: two outcomes of one person are at least this far apart (keeps their last-touch windows apart)
MIN_OUTCOME_GAP = 4 * 86_400

YEAR = 2024
T0 = int(dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC).timestamp())  # epoch seconds
DAYS = 366
YEAR_SEC = DAYS * 86_400
DAY0 = (dt.date(YEAR, 1, 1) - dt.date(1970, 1, 1)).days  # date32 of 2024-01-01
BUSINESS = "Ledgerlight"
DOMAIN = "ledgerlight.example"

# --------------------------------------------------------------------------------------------
# channels
# --------------------------------------------------------------------------------------------

CHANNELS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("linkedin", "LinkedIn", "social", "linkedin", False),
    ("x", "X (Twitter)", "social", "x", False),
    ("instagram", "Instagram", "social", "meta", False),
    ("facebook", "Facebook", "social", "meta", False),
    ("youtube", "YouTube", "social", "youtube", False),
    ("newsletter", "Ledgerlight Letter", "email", "mailchimp", True),
    ("website", "Website & blog", "web", "self", True),
    ("trade_shows", "Trade shows", "event", "self", True),
    ("google_ads", "Google Ads", "paid", "google", False),
    ("phone", "Phone line", "phone", "self", True),
    ("client_service", "Client service", "client_service", "self", True),
)
CH = [c[0] for c in CHANNELS]
NCH = len(CH)
LI, XX, IG, FB, YT, NL, WEB, TS, GA, PH, CS = range(NCH)
SOCIAL = (LI, XX, IG, FB, YT)
#: channels whose touches always point at a piece of content
CONTENT_ALWAYS = (LI, XX, IG, FB, YT, NL)

#: platform audience at the end of 2024 (small size); the newsletter's comes from the audience table
FOLLOWERS_END = {"instagram": 48_000, "x": 22_000, "facebook": 15_000, "youtube": 9_000}
FOLLOWERS_END["linkedin"] = 6_000
#: growth over the year (end / start - 1)
FOLLOWER_GROWTH = {"instagram": 0.35, "x": -0.04, "facebook": 0.02, "youtube": 0.5, "linkedin": 0.6}
AUDIENCE_METRIC = {"youtube": "subscribers", "newsletter": "subscribers"}

# expected outcomes per year in the small world, by true channel and type
OUTCOME_RATES: dict[str, dict[str, float]] = {
    "linkedin": {"call": 15, "question": 35, "lead": 55, "new_account": 14, "order": 22},
    "x": {"call": 2, "question": 12, "lead": 6, "order": 2},
    "instagram": {"call": 3, "question": 22, "lead": 8, "order": 4},
    "facebook": {"call": 3, "question": 10, "lead": 5, "order": 3},
    "youtube": {"question": 18, "lead": 12, "new_account": 2, "order": 6},
    "newsletter": {"call": 20, "question": 55, "lead": 45, "new_account": 22, "order": 55},
    "website": {"call": 10, "question": 45, "lead": 50, "new_account": 4, "order": 18},
    "trade_shows": {"call": 8, "question": 15, "lead": 110, "new_account": 22, "order": 15},
    "google_ads": {"call": 35, "question": 35, "lead": 70, "new_account": 10, "order": 45},
    "phone": {"call": 140, "question": 25, "lead": 15, "new_account": 7, "order": 35},
    "client_service": {"question": 70, "order": 30, "renewal": 45},
}
#: mean USD value by type, and per-channel overrides
VALUE_MEAN = {"new_account": 4_500.0, "order": 1_200.0, "renewal": 3_600.0}
VALUE_MEAN_BY_CHANNEL: dict[str, dict[str, float]] = {
    "linkedin": {"new_account": 6_000.0},
    "x": {"order": 300.0},
    "instagram": {"order": 250.0},
    "facebook": {"order": 220.0},
    "youtube": {"new_account": 2_500.0, "order": 450.0},
    "newsletter": {"new_account": 5_500.0, "order": 1_400.0},
    "website": {"new_account": 3_000.0, "order": 600.0},
    "trade_shows": {"new_account": 7_500.0, "order": 2_000.0},
    "google_ads": {"new_account": 3_000.0, "order": 700.0},
    "phone": {"new_account": 4_000.0, "order": 900.0},
}
MONEY_TYPES = ("new_account", "order", "renewal", "refund")

# personas: who a person is decides which channels they touch and how much
# (name, share of people, mean background touches, channel weights)
PERSONAS: tuple[tuple[str, float, float, dict[int, float]], ...] = (
    ("instagram_fan", 0.25, 24, {IG: 0.62, FB: 0.1, YT: 0.1, XX: 0.06, WEB: 0.07, NL: 0.05}),
    ("x_follower", 0.12, 21, {XX: 0.66, LI: 0.05, WEB: 0.1, YT: 0.09, IG: 0.1}),
    ("facebook_friend", 0.08, 17, {FB: 0.6, IG: 0.24, WEB: 0.1, NL: 0.06}),
    ("youtube_viewer", 0.07, 19, {YT: 0.6, WEB: 0.15, IG: 0.1, XX: 0.09, NL: 0.06}),
    (
        "linkedin_pro",
        0.15,
        17,
        {LI: 0.55, WEB: 0.14, NL: 0.15, TS: 0.03, GA: 0.02, PH: 0.02, YT: 0.05, XX: 0.04},
    ),
    ("newsletter_reader", 0.15, 21, {NL: 0.6, WEB: 0.19, LI: 0.1, PH: 0.03, YT: 0.04, TS: 0.04}),
    ("event_goer", 0.06, 10, {TS: 0.3, LI: 0.25, WEB: 0.2, NL: 0.15, PH: 0.05, GA: 0.05}),
    ("searcher", 0.07, 8, {GA: 0.35, WEB: 0.45, PH: 0.1, NL: 0.05, YT: 0.05}),
    ("client", 0.05, 23, {CS: 0.45, NL: 0.2, PH: 0.1, WEB: 0.15, LI: 0.1}),
)
#: channels that "assist" on a journey before an outcome (shown, liked, read ...)
ASSIST = {IG: 0.25, LI: 0.2, YT: 0.12, WEB: 0.2, NL: 0.12, XX: 0.08, FB: 0.03}

#: touch kinds of ordinary (background and journey) touches
KINDS: dict[int, dict[str, float]] = {
    LI: {"view": 0.62, "like": 0.2, "comment": 0.06, "share": 0.04, "click": 0.05, "save": 0.03},
    XX: {"view": 0.64, "like": 0.22, "share": 0.06, "comment": 0.04, "click": 0.04},
    IG: {"view": 0.55, "like": 0.3, "comment": 0.05, "save": 0.05, "share": 0.05},
    FB: {"view": 0.6, "like": 0.25, "comment": 0.07, "share": 0.05, "click": 0.03},
    YT: {"view": 0.82, "like": 0.12, "comment": 0.04, "share": 0.02},
    NL: {"open": 0.78, "click": 0.2, "reply": 0.02},
    WEB: {"visit": 0.85, "download": 0.08, "form": 0.07},
    TS: {"booth_visit": 0.6, "attend": 0.4},
    GA: {"click": 1.0},
    PH: {"call": 1.0},
    CS: {"message": 0.6, "meeting": 0.4},
}
#: touch kinds of the touch that causes an outcome
CAUSE_KINDS: dict[int, dict[str, float]] = {
    LI: {"message": 0.4, "comment": 0.2, "click": 0.4},
    XX: {"click": 0.5, "comment": 0.3, "message": 0.2},
    IG: {"message": 0.5, "click": 0.3, "comment": 0.2},
    FB: {"message": 0.5, "click": 0.3, "comment": 0.2},
    YT: {"click": 0.6, "comment": 0.4},
    NL: {"click": 0.8, "reply": 0.2},
    WEB: {"form": 0.6, "visit": 0.3, "download": 0.1},
    TS: {"booth_visit": 1.0},
    GA: {"click": 1.0},
    PH: {"call": 1.0},
    CS: {"meeting": 0.5, "message": 0.5},
}
#: mean delay (days) between a piece of content being published and a touch on it
CONTENT_DELAY_DAYS = {LI: 2.0, XX: 0.5, IG: 1.0, FB: 1.0, YT: 10.0, NL: 1.5, WEB: 20.0}
WEB_CONTENT_SHARE = 0.45

# trade shows: (name, city, first day of year (0 = Jan 1), days, talks given)
SHOWS: tuple[tuple[str, str, int, int, int], ...] = (
    ("Northeast SMB Expo", "Boston", 50, 2, 1),
    ("Finance Ops Summit", "Chicago", 114, 2, 2),
    ("Main Street Growth Fair", "Denver", 163, 1, 1),
    ("Accounting Tech Week", "Austin", 260, 3, 2),
    ("Year-End Planning Forum", "Atlanta", 316, 2, 2),
)
# pieces of content per channel over the year (trade show talks come from SHOWS)
CONTENT_COUNTS = {LI: 104, XX: 156, IG: 130, FB: 52, YT: 24, NL: 52, WEB: 40}
CONTENT_FORMAT = {
    LI: "post",
    XX: "post",
    IG: "post",
    FB: "post",
    YT: "video",
    NL: "newsletter",
    WEB: "article",
    TS: "talk",
}
#: per piece of content: (reach as share of audience, like rate, comment rate, share rate)
ENGAGEMENT = {
    LI: (0.4, 0.015, 0.003, 0.002),
    XX: (0.18, 0.05, 0.004, 0.008),
    IG: (0.25, 0.06, 0.004, 0.003),
    FB: (0.08, 0.012, 0.002, 0.002),
    YT: (0.3, 0.04, 0.005, 0.002),
}

# weekly costs, small size: (dollars, hours)
WEEKLY_COST = {
    LI: (15.0, 5.0),
    XX: (0.0, 3.0),
    IG: (25.0, 6.5),
    FB: (10.0, 2.0),
    YT: (35.0, 6.0),
    NL: (60.0, 4.0),
    WEB: (45.0, 3.0),
    TS: (0.0, 0.5),
    GA: (750.0, 2.0),
    PH: (25.0, 6.0),
    CS: (0.0, 15.0),
}

# --------------------------------------------------------------------------------------------
# words
# --------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words("""James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William
Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna
Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald
Rebecca Jason Laura Edward Helen Jeffrey Sharon Ryan Cynthia Jacob Kathleen Gary Amy Nicholas
Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon
Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank
Janet Raymond Maria Jack Olivia Dennis Heather Jerry Diane Tyler Julie Aaron Joyce Jose Victoria
Adam Ruth Nathan Virginia Henry Lauren Zachary Kelly Douglas Christina Peter Joan Kyle Evelyn Noah
Judith Ethan Andrea Jeremy Hannah Walter Megan Christian Cheryl Keith Jacqueline Roger Martha
Terry Madison Austin Teresa Sean Gloria Gerald Sara Carl Janice Harold Ann Dylan Kathryn Arthur
Abigail Lawrence Sophia Jordan Frances Jesse Jean Bryan Alice Billy Judy Bruce Isabella Gabriel
Julia Joe Grace Logan Amber Alan Denise Juan Danielle Albert Marilyn Willie Beverly Elijah
Charlotte Wayne Natalie Randy Theresa Vincent Diana Mason Brittany Roy Doris Ralph Kayla Bobby
Alexis Russell Lori Bradley Marie Priya Wei Aisha Diego Sofia Mateo Yuki Omar Fatima Ananya Liam
Chen Lucia Ines Kwame Amara Ravi Mei""")

LAST_NAMES = _words("""Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores
Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner
Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz
Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez
Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross
Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales
Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace
Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro
Marshall Owens Harrison Fernandez Mcdonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman
Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren
Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight
Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry
Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Okafor
Mensah Singh Sharma Tanaka Sato Novak Kowalski Larsen Dubois Rossi Muller""")

COMPANY_WORDS = _words("""Blue Harbor Summit Cedar North Pine Bright Granite Maple River Iron Silver Oak
Golden Meadow Copper Stone Willow Coastal Prairie Highland Lake Red Sun Birch Falcon Atlas Beacon
Keystone Liberty Pioneer Evergreen Crescent Horizon Orchard Harvest Lantern Compass Anchor Forge
Juniper Aspen Sierra Canyon Redwood Harbor Bay Valley Ridge Frontier Heritage Union Main""")
COMPANY_KINDS = _words("""Logistics Dental Bakery Builders Design Consulting Accounting Realty Fitness Media
Landscaping Plumbing Electric Roofing Clinic Studio Foods Brewing Apparel Motors Legal Labs
Marketing Insurance Coffee Veterinary Outfitters Florist Printing Cleaning""")
COMPANY_SUFFIXES = ["", "", "", " LLC", " Inc", " Co", " Group", " & Sons", " Partners"]
INDUSTRIES = """Construction|Healthcare|Retail|Professional services|Hospitality|Manufacturing|
Real estate|Food & beverage|Nonprofit|Transportation|Education|Legal|Creative agency|
Wellness|Home services""".replace("\n", "").split("|")
TITLES = """Owner|Founder|Co-founder|CEO|Managing Director|Operations Manager|Office Manager|
Bookkeeper|Controller|CFO|Finance Manager|Accountant|Head of Operations|General Manager|
Practice Manager|Director|Partner|Administrator|Marketing Manager|Consultant|Freelancer|
Studio Manager|Store Manager|Project Manager|Student""".replace("\n", "").split("|")
LOCATIONS = """New York, NY|Los Angeles, CA|Chicago, IL|Houston, TX|Phoenix, AZ|Philadelphia, PA|
San Antonio, TX|San Diego, CA|Dallas, TX|Austin, TX|Jacksonville, FL|Columbus, OH|Charlotte, NC|
Indianapolis, IN|Seattle, WA|Denver, CO|Boston, MA|Nashville, TN|Portland, OR|Atlanta, GA|
Minneapolis, MN|Raleigh, NC|Salt Lake City, UT|Kansas City, MO|Pittsburgh, PA|Madison, WI|
Boise, ID|Tampa, FL|Richmond, VA|Omaha, NE|Toronto, ON|Vancouver, BC|London, UK|Dublin, IE|
Sydney, AU""".replace("\n", "").split("|")
EMAIL_PROVIDERS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"]
AREA_CODES = np.array([212, 312, 415, 512, 617, 646, 702, 713, 720, 773, 804, 919, 206, 303, 404])
TOPICS = """cash flow|bookkeeping|payroll|quarterly taxes|pricing|forecasting|automation|hiring|
month-end close|invoicing|late payments|budgeting|software stacks|sales tax|profit margins|
expense tracking""".replace("\n", "").split("|")
TITLE_TEMPLATES = {
    "post": [
        "{n} lessons on {topic} from this quarter",
        "What nobody tells you about {topic}",
        "A quick checklist for {topic}",
        "Client story: fixing {topic} in {n} weeks",
        "Myth vs fact: {topic}",
        "One chart that explains {topic}",
        "Hot take: {topic} is a people problem",
    ],
    "video": ["{topic} explained in {n} minutes", "Live Q&A: {topic}", "Walkthrough: {topic}"],
    "article": [
        "The small-business guide to {topic}",
        "How to get {topic} right in 2024",
        "{n} mistakes we see with {topic}",
    ],
    "newsletter": ["Ledgerlight Letter #{k}: {topic}"],
    "talk": ["{topic} for owners who hate spreadsheets", "Fixing {topic} without hiring"],
}


# --------------------------------------------------------------------------------------------
# the world
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    """Canonical tables of a demo world, plus its ground truth."""

    tables: dict[str, pa.Table]
    #: outcome_id, channel_id: the channel that truly caused each outcome
    truth: pa.Table
    #: person_id, label (true_fan, superfan): the planted fans (a superfan is also a true fan)
    truth_people: pa.Table = field(default_factory=lambda: pa.table({"person_id": [], "label": []}))
    #: the generator's settings and true per-channel figures (JSON-serialisable)
    params: dict[str, object] = field(default_factory=dict)


def generate(seed: int = 7, size: str = "small") -> World:
    """Make the demo world for ``seed`` and ``size`` (one of :data:`SIZES`); deterministic."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    return _Generator(seed, size).run()


# --------------------------------------------------------------------------------------------
# arrow helpers
# --------------------------------------------------------------------------------------------


def _strings(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _take(
    values: pa.Array | list[str], idx: npt.ArrayLike, valid: BoolArray | None = None
) -> pa.Array:
    """values[idx] as a string array; null where ``valid`` is False."""
    arr = _strings(values) if isinstance(values, list) else values
    ind = np.asarray(idx, dtype=np.int64)
    if valid is None:
        return arr.take(pa.array(ind))
    return arr.take(pa.array(np.where(valid, ind, 0), mask=~valid))


def _numbered(
    prefix: str, nums: npt.ArrayLike, width: int, alphabet: bytes = b"0123456789"
) -> pa.Array:
    """prefix + nums written with ``width`` digits (zero padded), built without Python loops."""
    x = np.asarray(nums, dtype=np.int64).copy()
    n = len(x)
    p = prefix.encode()
    row = len(p) + width
    buf = np.empty((n, row), dtype=np.uint8)
    if p:
        buf[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    base = len(alphabet)
    table = np.frombuffer(alphabet, dtype=np.uint8)
    for j in range(row - 1, len(p) - 1, -1):
        buf[:, j] = table[x % base]
        x //= base
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def _ts(seconds: npt.ArrayLike, valid: BoolArray | None = None) -> pa.Array:
    """Seconds since 2024-01-01 as naive-UTC microsecond timestamps."""
    us = (np.asarray(seconds, dtype=np.int64) + T0) * 1_000_000
    mask = None if valid is None else ~valid
    return pa.array(us, type=pa.timestamp("us"), mask=mask)


def _dates(days: npt.ArrayLike) -> pa.Array:
    """Days since 2024-01-01 as date32."""
    return pa.array((np.asarray(days, dtype=np.int64) + DAY0).astype(np.int32), type=pa.date32())


def _money(values: FloatArray, valid: BoolArray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    rounded = np.round(np.where(np.isfinite(values), values, 0.0), 2)
    return pa.array(rounded, type=pa.float64(), mask=mask).cast(pa.decimal128(18, 4))


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _dup_rank(values: pa.Array) -> IntArray:
    """0 for the first copy of each value, 1 for the second, ... (in row order)."""
    enc = pc.dictionary_encode(values)
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    sc = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sc)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(sc)]))
    rank = np.empty_like(codes)
    rank[order] = np.arange(len(sc)) - group_start
    return rank


def _rank_suffix(rank: IntArray, sep: str = "") -> pa.Array:
    """'' for rank 0, else sep + (rank + 1): appended to make repeated values unique."""
    numbered = _join(sep, pc.cast(pa.array(rank + 1), pa.string()))
    return pc.if_else(pa.array(rank > 0), numbered, "")


def _sha256(values: pa.Array) -> pa.Array:
    return pa.array(
        [None if v is None else hashlib.sha256(v.encode()).hexdigest() for v in values.to_pylist()],
        pa.string(),
    )


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """The world's columns in schema order; columns it does not model (identity_id) are null."""
    names = schema.CANONICAL[name].column_names
    modelled = [n for n in names if n in columns]
    assert list(columns) == modelled, (name, list(columns), names)
    n_rows = len(next(iter(columns.values())))
    return pa.table(
        {n: columns[n] if n in columns else pa.nulls(n_rows, pa.string()) for n in names}
    )


def _weights(d: dict[int, float]) -> FloatArray:
    w = np.zeros(NCH)
    for k, v in d.items():
        w[k] = v
    return w / w.sum()


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(p for p in out.split("-") if p)


# --------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, seed: int, size: str) -> None:
        self.seed = seed
        self.size = size
        self.spec = SIZES[size]
        self.n = self.spec.people
        self.scale = self.n / BASE_PEOPLE
        self.rng = np.random.default_rng(seed)
        self.day_weight = np.where(np.arange(DAYS) % 7 < 5, 1.0, 0.3)  # 2024-01-01 is a Monday

    # ---- time helpers -------------------------------------------------------------------

    def business_times(self, n: int, first_day: int = 0, last_day: int = DAYS) -> IntArray:
        """Seconds in the year at business hours, mostly on weekdays."""
        w = self.day_weight[first_day:last_day]
        day = self.rng.choice(np.arange(first_day, last_day), size=n, p=w / w.sum())
        tod = np.clip(self.rng.normal(13.0, 2.6, n), 7.0, 21.5) * 3600
        return (day * 86_400 + tod).astype(np.int64)

    # ---- channels and content -----------------------------------------------------------

    def channels(self) -> pa.Table:
        return _table(
            "channels",
            {
                "channel_id": _strings(CH),
                "name": _strings([c[1] for c in CHANNELS]),
                "kind": _strings([c[2] for c in CHANNELS]),
                "platform": _strings([c[3] for c in CHANNELS]),
                "owned": pa.array([c[4] for c in CHANNELS], pa.bool_()),
            },
        )

    def followers(self) -> None:
        """Daily running totals of platform audiences (not the newsletter's)."""
        rng = self.rng
        self.follower_series: dict[int, FloatArray] = {}
        for c in SOCIAL:
            name = CH[c]
            end = FOLLOWERS_END[name] * self.spec.audience_scale
            start = end / (1 + FOLLOWER_GROWTH[name])
            w = rng.gamma(0.7, 1.0, DAYS)
            spikes = rng.random(DAYS) < 0.02
            w[spikes] *= rng.uniform(8, 25, int(spikes.sum()))
            path = np.cumsum(w) / w.sum()
            wobble = np.cumsum(rng.normal(0, 1, DAYS))
            wobble -= np.linspace(0, 1, DAYS) * wobble[-1]
            series = start + (end - start) * path + wobble * end * 0.0008
            self.follower_series[c] = np.round(series)

    def contents(self) -> None:
        rng = self.rng
        chan: list[int] = []
        pub: list[int] = []
        fmt: list[str] = []
        title: list[str] = []
        url: list[str] = []
        text: list[str] = []
        topics: list[str] = []
        show_of: list[int] = []
        for c, count in CONTENT_COUNTS.items():
            if c == NL:
                days = 1 + 7 * np.arange(count)  # Tuesdays
                secs = days * 86_400 + 9 * 3600 + rng.integers(0, 1800, count)
            else:
                weekdays_only = c in (LI, WEB)
                w = self.day_weight**3 if weekdays_only else np.ones(DAYS)
                days = np.sort(rng.choice(DAYS, size=count, replace=False, p=w / w.sum()))
                days[0] = rng.integers(0, 3)  # every channel starts posting in the first days
                days = np.sort(days)
                tod = np.clip(rng.normal(11.0 if c in (LI, NL) else 16.0, 3.0, count), 6, 22)
                secs = days * 86_400 + (tod * 3600).astype(np.int64)
            for i, s in enumerate(np.sort(secs)):
                chan.append(c)
                pub.append(int(s))
                show_of.append(-1)
                f = CONTENT_FORMAT[c]
                fmt.append(f)
                topic_ids = rng.choice(len(TOPICS), size=int(rng.integers(1, 4)), replace=False)
                topic = TOPICS[int(topic_ids[0])]
                templates = TITLE_TEMPLATES[f]
                t = templates[int(rng.integers(len(templates)))]
                t = t.format(topic=topic, n=int(rng.integers(3, 11)), k=i + 1)
                title.append(t[0].upper() + t[1:])
                topics.append(",".join(TOPICS[int(j)] for j in topic_ids))
                text.append(f"{t[0].upper() + t[1:]}. What we learned working with small firms.")
                url.append(self.content_url(c, t, int(s)))
        for k, (name, city, first, ndays, talks) in enumerate(SHOWS):
            for _ in range(talks):
                day = first + int(rng.integers(ndays))
                s = day * 86_400 + int(rng.integers(10, 16)) * 3600
                topic_ids = rng.choice(len(TOPICS), size=2, replace=False)
                templates = TITLE_TEMPLATES["talk"]
                t = templates[int(rng.integers(len(templates)))].format(
                    topic=TOPICS[int(topic_ids[0])]
                )
                chan.append(TS)
                pub.append(s)
                show_of.append(k)
                fmt.append("talk")
                title.append(t[0].upper() + t[1:])
                topics.append(",".join(TOPICS[int(j)] for j in topic_ids))
                text.append(f"Talk at {name}, {city}.")
                url.append(f"https://{DOMAIN}/talks/{YEAR}/{_slug(name)}/{_slug(t)}")
        ch_arr = np.array(chan, dtype=np.int64)
        pub_arr = np.array(pub, dtype=np.int64)
        order = np.lexsort((ch_arr, pub_arr))
        self.c_channel = ch_arr[order]
        self.c_pub = pub_arr[order]
        self.c_show = np.array(show_of, dtype=np.int64)[order]
        self.n_contents = len(order)
        # popularity drives which content people touch (not what it earns)
        self.c_pop = rng.lognormal(0.0, 0.8, self.n_contents)
        self.ch_content: dict[int, IntArray] = {
            c: np.flatnonzero(self.c_channel == c) for c in range(NCH)
        }
        ids = _numbered("c", np.arange(1, self.n_contents + 1), 5)
        self.content_ids = ids
        idx = order.tolist()
        self.contents_table = _table(
            "contents",
            {
                "content_id": ids,
                "channel_id": _take(CH, self.c_channel),
                "published_at": _ts(self.c_pub),
                "format": _strings([fmt[i] for i in idx]),
                "title": _strings([title[i] for i in idx]),
                "url": _strings([url[i] for i in idx]),
                "text": _strings([text[i] for i in idx]),
                "topics": _strings([topics[i] for i in idx]),
            },
        )

    def content_url(self, c: int, title: str, s: int) -> str:
        rng = self.rng
        date = dt.date(YEAR, 1, 1) + dt.timedelta(seconds=s)
        token = "".join(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"[int(i)]
            for i in rng.integers(0, 64, 11)
        )
        if c == LI:
            return f"https://www.linkedin.com/posts/ledgerlight_{_slug(title)}-{token}"
        if c == XX:
            return f"https://x.com/ledgerlight/status/{1_740_000_000_000_000_000 + s * 1000}"
        if c == IG:
            return f"https://www.instagram.com/p/{token}/"
        if c == FB:
            return f"https://www.facebook.com/ledgerlight/posts/{10_160_000_000_000 + s}"
        if c == YT:
            return f"https://www.youtube.com/watch?v={token}"
        if c == NL:
            return f"https://{DOMAIN}/newsletter/{date.isoformat()}"
        return f"https://{DOMAIN}/blog/{_slug(title)}"

    # ---- people ---------------------------------------------------------------------------

    def people(self) -> None:
        rng, n = self.rng, self.n
        self.first = rng.integers(0, len(FIRST_NAMES), n)
        self.last = rng.integers(0, len(LAST_NAMES), n)
        n_comp = max(60, n // 5)
        comp_names = _join(
            _take(COMPANY_WORDS, rng.integers(0, len(COMPANY_WORDS), n_comp)),
            " ",
            _take(COMPANY_KINDS, rng.integers(0, len(COMPANY_KINDS), n_comp)),
        )
        comp_full = _join(
            comp_names, _take(COMPANY_SUFFIXES, rng.integers(0, len(COMPANY_SUFFIXES), n_comp))
        )
        comp_domain = _join(pc.replace_substring(pc.utf8_lower(comp_names), " ", ""), ".com")
        comp_industry = rng.integers(0, len(INDUSTRIES), n_comp)
        comp_location = rng.integers(0, len(LOCATIONS), n_comp)
        self.company = np.minimum((n_comp * rng.random(n) ** 1.7).astype(np.int64), n_comp - 1)
        self.has_company = rng.random(n) < 0.86
        location = np.where(
            rng.random(n) < 0.8, comp_location[self.company], rng.integers(0, len(LOCATIONS), n)
        )
        industry = np.where(
            self.has_company, comp_industry[self.company], rng.integers(0, len(INDUSTRIES), n)
        )
        self.comp_full, self.comp_domain = comp_full, comp_domain
        self.person_ids = _numbered("p", np.arange(1, n + 1), 7)
        self.first_names = _take(FIRST_NAMES, self.first)
        self.last_names = _take(LAST_NAMES, self.last)
        self.people_cols = {
            "person_id": self.person_ids,
            "display_name": _join(self.first_names, " ", self.last_names),
            "company": _take(comp_full, self.company, self.has_company),
            "title": _take(TITLES, rng.integers(0, len(TITLES), n), rng.random(n) < 0.8),
            "industry": _take(INDUSTRIES, industry, rng.random(n) < 0.9),
            "location": _take(LOCATIONS, location, rng.random(n) < 0.85),
        }
        # personas
        shares = np.array([p[1] for p in PERSONAS])
        shares /= shares.sum()
        self.primary = rng.choice(len(PERSONAS), size=n, p=shares)
        self.secondary = rng.choice(len(PERSONAS), size=n, p=shares)
        self.has_secondary = rng.random(n) < 0.4
        self.persona_w = np.array([_weights(p[3]) for p in PERSONAS])

    # ---- touches --------------------------------------------------------------------------

    def pick_channels(self, persona: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        out = np.empty(len(persona), dtype=np.int64)
        for k in range(len(PERSONAS)):
            m = persona == k
            out[m] = self.rng.choice(NCH, size=int(m.sum()), p=self.persona_w[k])
        return out

    def pick_kinds(self, channel: IntArray, table: dict[int, dict[str, float]]) -> IntArray:
        out = np.empty(len(channel), dtype=np.int64)
        kind_index = {k: i for i, k in enumerate(schema.TOUCH_KINDS)}
        for c in range(NCH):
            m = channel == c
            names = list(table[c])
            p = np.array([table[c][k] for k in names])
            codes = np.array([kind_index[k] for k in names])
            out[m] = codes[self.rng.choice(len(names), size=int(m.sum()), p=p / p.sum())]
        return out

    def latest_content(self, c: int, ts: IntArray) -> IntArray:
        """A recent piece of content of channel c published before each ts (-1 if none)."""
        idx = self.ch_content[c]
        pub = self.c_pub[idx]
        latest = np.searchsorted(pub, ts, side="right") - 1
        pos = np.maximum(latest - (self.rng.geometric(0.55, len(ts)) - 1), 0)
        return np.where(latest >= 0, idx[np.clip(pos, 0, len(idx) - 1)], -1)

    def background(self) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
        """Ordinary touches spread over the year: (person, ts, channel, content, kind)."""
        rng, n = self.rng, self.n
        mean = np.array([p[2] for p in PERSONAS])[self.primary] * BACKGROUND_TOUCH_FACTOR
        r = 1.3
        counts = 1 + rng.negative_binomial(r, r / (r + np.maximum(mean - 1, 0.1)))
        person = np.repeat(np.arange(n, dtype=np.int64), counts)
        t = len(person)
        use_second = self.has_secondary[person] & (rng.random(t) < 0.3)
        persona = np.where(use_second, self.secondary[person], self.primary[person])
        channel = self.pick_channels(persona)
        del persona, use_second
        kind = self.pick_kinds(channel, KINDS)
        ts = np.empty(t, dtype=np.int64)
        content = np.full(t, -1, dtype=np.int64)
        for c in range(NCH):
            m = np.flatnonzero(channel == c)
            if not len(m):
                continue
            if c in CONTENT_ALWAYS or c == WEB:
                sel = m
                if c == WEB:
                    sel = m[rng.random(len(m)) < WEB_CONTENT_SHARE]
                    rest = np.setdiff1d(m, sel, assume_unique=True)
                    ts[rest] = self.business_times(len(rest))
                    kind[sel] = np.where(
                        rng.random(len(sel)) < 0.9,
                        schema.TOUCH_KINDS.index("visit"),
                        schema.TOUCH_KINDS.index("download"),
                    )
                idx = self.ch_content[c]
                pop = self.c_pop[idx]
                j = idx[rng.choice(len(idx), size=len(sel), p=pop / pop.sum())]
                content[sel] = j
                pub = self.c_pub[j]
                delay = rng.exponential(CONTENT_DELAY_DAYS[c] * 86_400, len(sel)).astype(np.int64)
                when = pub + 60 + delay
                over = when >= YEAR_SEC
                when[over] = pub[over] + 60 + delay[over] % np.maximum(YEAR_SEC - pub[over] - 60, 1)
                ts[sel] = np.minimum(when, YEAR_SEC - 1)
            elif c == TS:
                ts[m], content[m] = self.show_touches(kind[m])
            elif c in (GA, WEB):
                ts[m] = self.business_times(len(m))
            else:  # phone, client service
                ts[m] = self.business_times(len(m))
        return person, ts, channel, content, kind

    def show_touches(self, kind: IntArray) -> tuple[IntArray, IntArray]:
        """Times (during a show) and talk content (for 'attend') of trade-show touches."""
        rng = self.rng
        m = len(kind)
        weights = np.array([s[3] for s in SHOWS], dtype=np.float64)
        show = rng.choice(len(SHOWS), size=m, p=weights / weights.sum())
        first = np.array([s[2] for s in SHOWS])[show]
        ndays = np.array([s[3] for s in SHOWS])[show]
        day = first + (rng.random(m) * ndays).astype(np.int64)
        ts = day * 86_400 + (rng.uniform(9.0, 18.0, m) * 3600).astype(np.int64)
        content = np.full(m, -1, dtype=np.int64)
        attend = kind == schema.TOUCH_KINDS.index("attend")
        talks = self.ch_content[TS]
        for k in range(len(SHOWS)):
            sel = np.flatnonzero(attend & (show == k))
            options = talks[self.c_show[talks] == k]
            if len(sel) and len(options):
                j = options[rng.integers(0, len(options), len(sel))]
                content[sel] = j
                ts[sel] = self.c_pub[j] + rng.integers(0, 3600, len(sel))
            elif len(sel):
                kind[sel] = schema.TOUCH_KINDS.index("booth_visit")
        return ts, content

    # ---- outcomes ---------------------------------------------------------------------------

    def pick_fans(self, has_touch: BoolArray) -> IntArray:
        """The planted true fans: people of the business-minded personas."""
        names = [p[0] for p in PERSONAS]
        cand = np.flatnonzero(np.isin(self.primary, [names.index(p) for p in FAN_PERSONAS]))
        k = min(len(cand), max(5, round(FAN_SHARE * self.n)))
        return np.sort(self.rng.choice(cand, size=k, replace=False))

    def fan_purchases(self) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]:
        """Each fan's purchases: three or more through the year, the last in its final weeks,
        the first through the newsletter and the rest through the fans' usual channels."""
        rng, fans = self.rng, self.fans
        k = 3 + rng.poisson(FAN_EXTRA_PURCHASES, len(fans))
        person = np.repeat(fans, k)
        nth = np.arange(len(person)) - np.repeat(np.cumsum(k) - k, k)
        last = nth == np.repeat(k - 1, k)
        tt = np.where(
            last,
            self.business_times(len(person), first_day=DAYS - 40, last_day=DAYS - 2),
            self.business_times(len(person), first_day=7, last_day=DAYS - 45),
        )
        names = list(FAN_CHANNELS)
        p = np.array([FAN_CHANNELS[c] for c in names])
        ch = np.array([CH.index(c) for c in names])[rng.choice(len(names), len(person), p=p)]
        ch[nth == 0] = NL
        others = ch[nth == 1]  # the second purchase comes through another channel
        others[others == NL] = CS
        ch[nth == 1] = others
        delay = np.where(
            rng.random(len(person)) < 0.5,
            rng.integers(60, 4 * 3600, len(person)),
            rng.integers(4 * 3600, MAX_CAUSE_DELAY, len(person)),
        )
        delay[ch == PH] = rng.integers(1, 300, int((ch == PH).sum()))
        value = np.round(FAN_ORDER_MEAN * rng.lognormal(-0.5 * 0.45**2, 0.45, len(person)))
        return person, ch, tt, tt - delay, value

    def lapsed_purchases(self) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]:
        """Former regulars: two to four purchases in the first four months, then nothing."""
        rng, who = self.rng, self.lapsed
        k = rng.integers(2, 5, len(who))
        person = np.repeat(who, k)
        tt = self.business_times(len(person), first_day=7, last_day=120)
        names = list(FAN_CHANNELS)
        p = np.array([FAN_CHANNELS[c] for c in names])
        ch = np.array([CH.index(c) for c in names])[rng.choice(len(names), len(person), p=p)]
        delay = rng.integers(60, MAX_CAUSE_DELAY, len(person))
        delay[ch == PH] = rng.integers(1, 300, int((ch == PH).sum()))
        value = np.round(FAN_ORDER_MEAN * rng.lognormal(-0.5 * 0.45**2, 0.45, len(person)))
        return person, ch, tt, tt - delay, value

    def outcomes(self, has_touch: BoolArray) -> None:
        rng = self.rng
        type_index = {t: i for i, t in enumerate(schema.OUTCOME_TYPES)}
        chans, types, persons, ts, cause, values = [], [], [], [], [], []
        self.fans = self.pick_fans(has_touch)
        others = np.setdiff1d(np.arange(self.n), self.fans)
        k_lapsed = min(len(others), max(3, round(LAPSED_SHARE * self.n)))
        self.lapsed = np.sort(rng.choice(others, size=k_lapsed, replace=False))
        # everyone but the fans and the lapsed regulars buys at most once (while the pool lasts)
        bought = np.zeros(self.n, dtype=bool)
        bought[self.fans] = True
        bought[self.lapsed] = True
        for c_name, rates in OUTCOME_RATES.items():
            c = CH.index(c_name)
            pool = np.flatnonzero(has_touch[:, c])
            if not len(pool):
                pool = np.arange(self.n)
            for typ, rate in rates.items():
                k = int(rng.poisson(rate * self.scale))
                if not k:
                    continue
                if c == TS:
                    # met at the booth, then in touch within the next two days (office hours)
                    cz, _ = self.show_touches(np.zeros(k, dtype=np.int64))
                    tod = np.clip(rng.normal(13.0, 2.6, k), 8.0, 19.0) * 3600
                    tt = (cz // 86_400 + rng.integers(0, 3, k)) * 86_400 + tod.astype(np.int64)
                    soon = tt < cz + 600
                    tt[soon] = cz[soon] + rng.integers(600, 7200, int(soon.sum()))
                else:
                    tt = self.business_times(k, first_day=7)
                    if c == PH:
                        delay = rng.integers(1, 300, k)
                    else:
                        delay = np.where(
                            rng.random(k) < 0.5,
                            rng.integers(60, 4 * 3600, k),
                            rng.integers(4 * 3600, MAX_CAUSE_DELAY, k),
                        )
                    cz = tt - delay
                tt = np.minimum(tt, YEAR_SEC - 1)
                mean = VALUE_MEAN_BY_CHANNEL.get(c_name, {}).get(typ, VALUE_MEAN.get(typ, 0.0))
                v = mean * rng.lognormal(-0.5 * 0.45**2, 0.45, k)
                v = np.round(v / 50) * 50 if typ == "renewal" else np.round(v)
                chans.append(np.full(k, c))
                types.append(np.full(k, type_index[typ]))
                if typ in MONEY_TYPES:
                    # people of the channel's pool first; when they run out, anyone who has
                    # not bought yet (the cause touch puts them on the channel anyway)
                    fresh = pool[~bought[pool]]
                    who = rng.choice(fresh, size=min(k, len(fresh)), replace=False)
                    if len(who) < k:
                        others = np.flatnonzero(~bought)
                        others = others[~np.isin(others, who)]
                        extra = rng.choice(
                            others, size=min(k - len(who), len(others)), replace=False
                        )
                        who = np.r_[
                            who, extra, pool[rng.integers(0, len(pool), k - len(who) - len(extra))]
                        ]
                    bought[who] = True
                else:
                    who = pool[rng.integers(0, len(pool), k)]
                persons.append(who)
                ts.append(tt)
                cause.append(cz)
                values.append(np.where(typ in MONEY_TYPES, v, np.nan))
        f_person, f_ch, f_ts, f_cause, f_val = self.fan_purchases()
        l_person, l_ch, l_ts, l_cause, l_val = self.lapsed_purchases()
        f_person, f_ch, f_ts = np.r_[f_person, l_person], np.r_[f_ch, l_ch], np.r_[f_ts, l_ts]
        f_cause, f_val = np.r_[f_cause, l_cause], np.r_[f_val, l_val]
        chans.append(f_ch)
        types.append(np.full(len(f_ch), type_index["order"]))
        persons.append(f_person)
        ts.append(f_ts)
        cause.append(f_cause)
        values.append(f_val)
        o_ch = np.concatenate(chans)
        o_type = np.concatenate(types)
        o_person = np.concatenate(persons)
        o_ts = np.concatenate(ts)
        o_cause = np.concatenate(cause)
        o_val = np.concatenate(values)
        # anonymous calls (unknown numbers) always say how they heard of us
        anon = (o_type == type_index["call"]) & (rng.random(len(o_ts)) < ANONYMOUS_CALL_RATE)
        o_person = np.where(anon, -1, o_person)
        # keep outcomes of one person at least MIN_OUTCOME_GAP apart
        keep = self.spaced(o_person, o_ts)
        o_ch, o_type, o_person, o_ts, o_cause, o_val, anon = (
            a[keep] for a in (o_ch, o_type, o_person, o_ts, o_cause, o_val, anon)
        )
        n0 = len(o_ts)
        p_self = max(0.0, (SELF_REPORT_RATE - anon.mean()) / (1 - anon.mean()))
        self_rep = anon | (rng.random(n0) < p_self)
        # refunds of some money outcomes, later, by the same person, in the order's channel
        money = np.flatnonzero(
            np.isin(o_type, [type_index["new_account"], type_index["order"]]) & (o_person >= 0)
        )
        ref = money[rng.random(len(money)) < REFUND_RATE]
        r_ts = o_ts[ref] + rng.integers(7 * 86_400, 45 * 86_400, len(ref))
        ref = ref[r_ts < YEAR_SEC]
        r_ts = r_ts[r_ts < YEAR_SEC]
        r_frac = np.where(rng.random(len(ref)) < 0.6, 1.0, rng.uniform(0.2, 0.8, len(ref)))
        o_ref = np.r_[np.full(n0, -1), ref]  # the outcome a refund refunds
        o_ch = np.r_[o_ch, o_ch[ref]]
        o_type = np.r_[o_type, np.full(len(ref), type_index["refund"])]
        o_person = np.r_[o_person, o_person[ref]]
        o_ts = np.r_[o_ts, r_ts]
        o_cause = np.r_[o_cause, r_ts - rng.integers(3600, 2 * 86_400, len(ref))]
        o_val = np.r_[o_val, np.round(o_val[ref] * r_frac)]
        anon = np.r_[anon, np.zeros(len(ref), dtype=bool)]
        self_rep = np.r_[self_rep, np.ones(len(ref), dtype=bool)]
        is_refund = o_type == type_index["refund"]
        keep = self.spaced(o_person, o_ts, is_refund)
        # order by time; ids follow
        order = np.flatnonzero(keep)[np.argsort(o_ts[keep], kind="stable")]
        new_pos = np.full(len(o_ts), -1)
        new_pos[order] = np.arange(len(order))
        self.o_ch = o_ch[order]
        self.o_type = o_type[order]
        self.o_person = o_person[order]
        self.o_ts = o_ts[order]
        self.o_cause = o_cause[order]
        self.o_val = o_val[order]
        self.o_anon = anon[order]
        self.o_self = self_rep[order]
        self.o_refund_of = np.where(o_ref[order] >= 0, new_pos[np.maximum(o_ref[order], 0)], -1)
        self.refer()

    def refer(self) -> None:
        """Superfans: some fans bring others (named as who told them) and review the business."""
        rng = self.rng
        self.superfans = np.sort(
            rng.choice(self.fans, size=round(SUPERFAN_SHARE * len(self.fans)), replace=False)
        )
        self.o_referred_by = np.full(len(self.o_ts), -1)
        first_buys = np.flatnonzero(
            np.isin(self.o_type, [schema.OUTCOME_TYPES.index(t) for t in ("new_account", "order")])
            & (self.o_person >= 0)
            & ~np.isin(self.o_person, self.fans)
            & ~np.isin(self.o_person, self.lapsed)
        )
        named = self.superfans[rng.random(len(self.superfans)) < 0.6]
        pick = rng.choice(first_buys, size=min(len(named), len(first_buys)), replace=False)
        self.o_referred_by[pick] = named[: len(pick)]

    @staticmethod
    def spaced(person: IntArray, ts: IntArray, only: BoolArray | None = None) -> BoolArray:
        """Mask dropping outcomes closer than MIN_OUTCOME_GAP to another of the same person.

        Without ``only`` the later of two close outcomes goes; otherwise only the rows in ``only``
        are dropped (when close to any other outcome of the person, on either side).
        """
        keep = np.ones(len(ts), dtype=bool)
        known = np.flatnonzero(person >= 0)
        order = known[np.lexsort((ts[known], person[known]))]
        p, t = person[order], ts[order]
        same_prev = np.r_[False, p[1:] == p[:-1]]
        close_prev = same_prev & (np.r_[np.inf, np.diff(t)] < MIN_OUTCOME_GAP)
        if only is None:
            keep[order[close_prev]] = False
            return keep
        close_next = np.r_[close_prev[1:], False]
        drop = (close_prev | close_next) & only[order]
        keep[order[drop]] = False
        return keep

    # ---- assembling touches -------------------------------------------------------------------

    def outcome_touches(self) -> tuple[list[IntArray], list[IntArray]]:
        """Journey touches (filtered later) and cause + noise touches (kept as they are)."""
        rng = self.rng
        has_p = self.o_person >= 0
        idx = np.flatnonzero(has_p & (self.o_refund_of < 0))
        ch, person = self.o_ch[idx], self.o_person[idx]
        t, cz = self.o_ts[idx], self.o_cause[idx]
        # cause: a touch in the true channel shortly before
        c_kind = self.pick_kinds(ch, CAUSE_KINDS)
        c_content = np.full(len(idx), -1, dtype=np.int64)
        for c in CONTENT_ALWAYS:
            m = np.flatnonzero(ch == c)
            c_content[m] = self.latest_content(c, cz[m])
        # noise: a touch in another channel between the cause and the outcome
        p_noise = np.where(self.o_self[idx], NOISE_RATE_SELF_REPORTED, NOISE_RATE)
        noisy = rng.random(len(idx)) < p_noise
        ni = np.flatnonzero(noisy)
        u = rng.random(len(ni))
        n_ch = np.where(u < 0.65, WEB, np.where(u < 0.9, GA, LI))
        clash = n_ch == ch[ni]
        n_ch[clash] = np.where(ch[ni][clash] == WEB, GA, WEB)
        gap = t[ni] - cz[ni]
        n_ts = cz[ni] + 1 + (rng.random(len(ni)) * (gap - 1)).astype(np.int64)
        n_kind = np.where(
            n_ch == WEB, schema.TOUCH_KINDS.index("visit"), schema.TOUCH_KINDS.index("click")
        )
        n_content = np.full(len(ni), -1, dtype=np.int64)
        li = np.flatnonzero(n_ch == LI)
        n_kind[li] = schema.TOUCH_KINDS.index("view")
        n_content[li] = self.latest_content(LI, n_ts[li])
        self.noisy = np.zeros(len(self.o_ts), dtype=bool)
        self.noisy[idx[ni]] = True
        # refunds: a message to client service (they are self-reported, so no exclusion needed)
        ridx = np.flatnonzero(self.o_refund_of >= 0)
        r_ts = self.o_cause[ridx]
        fixed = [
            np.r_[person, person[ni], self.o_person[ridx]],
            np.r_[cz, n_ts, r_ts],
            np.r_[ch, n_ch, np.full(len(ridx), CS)],
            np.r_[c_content, n_content, np.full(len(ridx), -1)],
            np.r_[c_kind, n_kind, np.full(len(ridx), schema.TOUCH_KINDS.index("message"))],
        ]
        # journey: earlier touches, from the person's personas and the assisting channels
        k = rng.poisson(2.2, len(idx))
        j_o = np.repeat(np.arange(len(idx)), k)
        j_person = person[j_o]
        j_ts = cz[j_o] - rng.integers(600, 40 * 86_400, len(j_o))
        from_assist = rng.random(len(j_o)) < 0.5
        j_ch = np.where(
            from_assist,
            rng.choice(NCH, size=len(j_o), p=_weights(ASSIST)),
            self.pick_channels(self.primary[j_person]),
        )
        ok = j_ts >= 0
        j_person, j_ts, j_ch = j_person[ok], j_ts[ok], j_ch[ok]
        j_kind = self.pick_kinds(j_ch, KINDS)
        j_content = np.full(len(j_ts), -1, dtype=np.int64)
        for c in (*CONTENT_ALWAYS, WEB):
            m = np.flatnonzero(j_ch == c)
            if c == WEB:
                m = m[rng.random(len(m)) < WEB_CONTENT_SHARE]
                j_kind[m] = schema.TOUCH_KINDS.index("visit")
            j_content[m] = self.latest_content(c, j_ts[m])
        ts_m = np.flatnonzero(j_ch == TS)
        shows = self.ch_content[TS]
        j_kind[ts_m] = schema.TOUCH_KINDS.index("booth_visit")
        # a trade-show touch happens at a show: move it to the latest show (talk) before
        show_pos = np.searchsorted(self.c_pub[shows], j_ts[ts_m]) - 1
        j_ts[ts_m] = self.c_pub[shows][np.maximum(show_pos, 0)] + rng.integers(
            0, 4 * 3600, len(ts_m)
        )
        no_show = np.zeros(len(j_ts), dtype=bool)
        no_show[ts_m[show_pos < 0]] = True
        # content channels without content yet at that time, trade shows before any show: drop
        keep = ~((np.isin(j_ch, CONTENT_ALWAYS) & (j_content < 0)) | no_show)
        journey = [j_person[keep], j_ts[keep], j_ch[keep], j_content[keep], j_kind[keep]]
        return journey, fixed

    def touchpoints(self) -> None:
        bg = self.background()
        has_touch = np.zeros((self.n, NCH), dtype=bool)
        has_touch[bg[0], bg[2]] = True
        self.outcomes(has_touch)
        journey, fixed = self.outcome_touches()
        journey = [np.r_[a, b] for a, b in zip(journey, self.advocacy_touches(), strict=True)]
        # drop ordinary touches that fall between an outcome's cause touch and the outcome
        w = np.flatnonzero((self.o_person >= 0) & (self.o_refund_of < 0))
        ws = (self.o_person[w] << 26) | self.o_cause[w]
        we = (self.o_person[w] << 26) | self.o_ts[w]
        order = np.argsort(ws, kind="stable")
        ws, we = ws[order], we[order]
        parts = []
        for block in (bg, journey):
            key = (block[0] << 26) | block[1]
            i = np.searchsorted(ws, key, side="right") - 1
            inside = (i >= 0) & (key <= we[np.maximum(i, 0)])
            parts.append([a[~inside] for a in block])
        parts.append(fixed)
        del bg, journey
        person = np.concatenate([p[0] for p in parts])
        ts = np.concatenate([p[1] for p in parts])
        sort_key = (ts << 21) | person
        order = np.argsort(sort_key, kind="stable")
        del sort_key
        self.t_person = person[order]
        self.t_ts = ts[order]
        self.t_ch = np.concatenate([p[2] for p in parts])[order]
        self.t_content = np.concatenate([p[3] for p in parts])[order]
        self.t_kind = np.concatenate([p[4] for p in parts])[order]
        del parts, person, ts

    def advocacy_touches(self) -> list[IntArray]:
        """Superfans review the business on its website and refer people through client service."""
        k = 2 * len(self.superfans)
        person = np.repeat(self.superfans, 2)
        ts = self.business_times(k, first_day=0, last_day=DAYS - 1)
        review = np.arange(k) % 2 == 0
        ch = np.where(review, WEB, CS)
        kind = np.where(
            review, schema.TOUCH_KINDS.index("review"), schema.TOUCH_KINDS.index("referral")
        )
        return [person, ts, ch, np.full(k, -1, dtype=np.int64), kind]

    def touch_table(self) -> pa.Table:
        rng = self.rng
        t = len(self.t_ts)
        value = np.full(t, np.nan)
        yt_view = (self.t_ch == YT) & (self.t_kind == schema.TOUCH_KINDS.index("view"))
        value[yt_view] = np.round(rng.lognormal(4.6, 0.9, int(yt_view.sum())))  # seconds watched
        has_value = ~np.isnan(value)
        return _table(
            "touchpoints",
            {
                "touch_id": _numbered("t", np.arange(1, t + 1), max(8, len(str(t)))),
                "person_id": _take(self.person_ids, self.t_person),
                "ts": _ts(self.t_ts),
                "channel_id": _take(CH, self.t_ch),
                "content_id": _take(self.content_ids, self.t_content, self.t_content >= 0),
                "kind": _take(list(schema.TOUCH_KINDS), self.t_kind),
                "value": pa.array(np.where(has_value, value, 0.0), pa.float64(), mask=~has_value),
            },
        )

    # ---- identities & audience ------------------------------------------------------------------

    def identities(self) -> None:
        rng, n = self.rng, self.n
        ht = self.has_touch
        f_low = pc.utf8_lower(self.first_names)
        l_low = pc.utf8_lower(self.last_names)
        # email
        has_email = ht[:, NL] | (rng.random(n) < 0.92)
        style = rng.random(n)
        local = pc.if_else(
            pa.array(style < 0.6),
            _join(f_low, ".", l_low),
            pc.if_else(
                pa.array(style < 0.85),
                _join(pc.utf8_slice_codeunits(f_low, 0, 1), l_low),
                _join(f_low, l_low),
            ),
        )
        work = self.has_company & (rng.random(n) < 0.72)
        domain = pc.if_else(
            pa.array(work),
            _take(self.comp_domain, self.company),
            _take(EMAIL_PROVIDERS, rng.integers(0, len(EMAIL_PROVIDERS), n)),
        )
        rank = _dup_rank(_join(local, "@", domain))
        email = _join(local, _rank_suffix(rank), "@", domain)
        # phone
        has_phone = (
            (rng.random(n) < 0.22)
            | (ht[:, PH] & (rng.random(n) < 0.85))
            | (ht[:, CS] & (rng.random(n) < 0.7))
        )
        area = AREA_CODES[rng.integers(0, len(AREA_CODES), n)]
        number = rng.choice(9_000_000, size=n, replace=False) + 1_000_000
        phone = _numbered("+1", area * 10_000_000 + number, 10)
        # linkedin profile
        has_li = ht[:, LI] | (rng.random(n) < 0.1)
        scramble = (np.arange(n, dtype=np.int64) * 2_654_435_761 + 0x5BD1E995) % (1 << 32)
        li_url = _join(
            "https://www.linkedin.com/in/",
            f_low,
            "-",
            l_low,
            "-",
            _numbered("", scramble, 8, b"0123456789abcdef"),
        )
        # handles
        hs = rng.random(n)
        handle = pc.if_else(
            pa.array(hs < 0.4),
            _join(f_low, l_low),
            pc.if_else(
                pa.array(hs < 0.7),
                _join(f_low, "_", l_low),
                _join(pc.utf8_slice_codeunits(f_low, 0, 1), l_low),
            ),
        )
        digits = rng.random(n) < 0.5
        handle = pc.if_else(
            pa.array(digits),
            _join(handle, pc.cast(pa.array(rng.integers(1, 100, n)), pa.string())),
            handle,
        )
        handle = _join(handle, _rank_suffix(_dup_rank(handle), "_"))
        has_x = ht[:, XX] | (rng.random(n) < 0.02)
        has_meta = ht[:, IG] | ht[:, FB] | (rng.random(n) < 0.02)
        meta_handle = pc.if_else(
            pa.array(rng.random(n) < 0.6),
            handle,
            _join(
                handle, _take([".studio", ".co", ".biz", ".daily", ".hq"], rng.integers(0, 5, n))
            ),
        )
        # everyone has at least one identity
        has_email |= ~(has_phone | has_li | has_x | has_meta)
        blocks = [
            (has_email, "email", None, email),
            (has_phone, "phone", None, phone),
            (has_li, "profile_url", "linkedin", li_url),
            (has_x, "handle", "x", handle),
            (has_meta, "handle", "meta", meta_handle),
        ]
        persons, kinds, values = [], [], []
        for b, (mask, _kind, _platform, vals) in enumerate(blocks):
            sel = np.flatnonzero(mask)
            persons.append(sel)
            kinds.append(np.full(len(sel), b))
            values.append(vals.take(pa.array(sel)))
        person = np.concatenate(persons)
        block = np.concatenate(kinds)
        order = np.lexsort((block, person))
        value = pa.concat_arrays(values).take(pa.array(order))
        block = block[order]
        person = person[order]
        ident_ids = _numbered("i", np.arange(1, len(order) + 1), 8)
        plat_names = [b[2] or "" for b in blocks]
        self.ident_person = person
        self.ident_block = block
        self.ident_ids = ident_ids
        self.identities_table = _table(
            "identities",
            {
                "identity_id": ident_ids,
                "person_id": _take(self.person_ids, person),
                "kind": _take([b[1] for b in blocks], block),
                "platform": _take(
                    plat_names, block, np.array([b[2] is not None for b in blocks])[block]
                ),
                "value": value,
                "value_hash": _sha256(value),
            },
        )

    def audience(self) -> None:
        rng, n = self.rng, self.n
        ht = self.has_touch
        block_email = self.ident_block == 0
        email_of = np.full(n, -1)
        email_of[self.ident_person[block_email]] = np.flatnonzero(block_email)
        li_block = self.ident_block == 2
        li_of = np.full(n, -1)
        li_of[self.ident_person[li_block]] = np.flatnonzero(li_block)
        # newsletter: readers (anyone with a newsletter touch) and some silent subscribers
        nl_touch = self.t_ch == NL
        first = np.full(n, YEAR_SEC, dtype=np.int64)
        last = np.full(n, -1, dtype=np.int64)
        np.minimum.at(first, self.t_person[nl_touch], self.t_ts[nl_touch])
        np.maximum.at(last, self.t_person[nl_touch], self.t_ts[nl_touch])
        silent = ~ht[:, NL] & (email_of >= 0) & (rng.random(n) < 0.08)
        subs = np.flatnonzero(ht[:, NL] | silent)
        m = len(subs)
        pre = rng.random(m) < 0.4
        before_first = np.where(
            ht[subs, NL],
            first[subs] - rng.integers(3600, 30 * 86_400, m),
            rng.integers(0, YEAR_SEC, m),
        )
        followed = np.where(
            pre | (before_first < 0), -rng.integers(86_400, 3 * 365 * 86_400, m), before_first
        )
        leaves = (rng.random(m) < 0.12) & ~np.isin(subs, self.fans)
        after = np.where(ht[subs, NL], last[subs], np.maximum(followed, 0)) + rng.integers(
            86_400, 60 * 86_400, m
        )
        unfollowed = np.where(leaves & (after < YEAR_SEC), after, -1)
        # linkedin connections: people with a profile url who engage, and some others
        conn = np.flatnonzero((li_of >= 0) & (ht[:, LI] | (rng.random(n) < 0.3)))
        k = len(conn)
        l_followed = np.where(
            rng.random(k) < 0.55,
            -rng.integers(86_400, 9 * 365 * 86_400, k),
            rng.integers(0, YEAR_SEC, k),
        )
        l_unf_at = np.maximum(l_followed, 0) + rng.integers(86_400, 200 * 86_400, k)
        l_unf = np.where((rng.random(k) < 0.02) & (l_unf_at < YEAR_SEC), l_unf_at, -1)
        self.nl_followed, self.nl_unfollowed = followed, unfollowed
        self.aud_first = np.full(n, YEAR_SEC, dtype=np.int64)
        np.minimum.at(self.aud_first, subs, followed)
        np.minimum.at(self.aud_first, conn, l_followed)
        both_f = np.r_[followed, l_followed]
        both_u = np.r_[unfollowed, l_unf]
        ident = np.r_[email_of[subs], li_of[conn]]
        total = m + k
        is_li = np.r_[np.zeros(m, dtype=bool), np.ones(k, dtype=bool)]

        def li_int(values: IntArray) -> pa.Array:
            return pa.array(np.r_[np.zeros(m, dtype=np.int64), values], pa.int64(), mask=~is_li)

        def li_bool(values: BoolArray) -> pa.Array:
            return pa.array(np.r_[np.zeros(m, dtype=bool), values], pa.bool_(), mask=~is_li)

        created = -rng.integers(365 * 86_400, 19 * 365 * 86_400, k)
        created = np.minimum(created, np.minimum(l_followed, 0) - 86_400)
        self.audience_table = _table(
            "audience",
            {
                "channel_id": _take(CH, np.r_[np.full(m, NL), np.full(k, LI)]),
                "identity_id": self.ident_ids.take(pa.array(ident)),
                "person_id": pa.nulls(total, pa.string()),
                "followed_at": _ts(both_f),
                "unfollowed_at": _ts(np.maximum(both_u, 0), both_u >= 0),
                "followers_count": li_int(rng.lognormal(6.0, 1.1, k).astype(np.int64)),
                "following_count": li_int(rng.lognormal(5.5, 1.0, k).astype(np.int64)),
                "posts_count": li_int(rng.negative_binomial(0.5, 0.02, k).astype(np.int64)),
                "has_photo": li_bool(rng.random(k) < 0.9),
                "bio_length": li_int(
                    np.where(rng.random(k) < 0.8, rng.integers(20, 220, k), 0).astype(np.int64)
                ),
                "has_url": li_bool(rng.random(k) < 0.35),
                "account_created": pa.array(
                    (np.r_[np.zeros(m, dtype=np.int64), created] + T0) * 1_000_000,
                    pa.timestamp("us"),
                    mask=~is_li,
                ),
                "verified": li_bool(rng.random(k) < 0.25),
            },
        )

    # ---- instagram's follower list ------------------------------------------------------------

    def instagram_followers(self) -> None:
        """Real and fake followers on Instagram's list; new people for those outside the world.

        Drawn from a generator of its own so the rest of the world is the same with or without
        the list.
        """
        n0 = self.n
        self.extra_people = 0
        self.fake_people = np.zeros(0, dtype=np.int64)
        if self.size not in FOLLOWER_LIST_SIZES:
            return
        rng = np.random.default_rng([self.seed, 606])
        total = int(self.follower_series[IG][-1])
        n_fake = round(FAKE_FOLLOWER_SHARE * total)
        meta_ident = np.flatnonzero(self.ident_block == 4)
        known = meta_ident[self.has_touch[self.ident_person[meta_ident], IG]]
        n_anon = max(0, total - n_fake - len(known))
        n_new = n_anon + n_fake
        new_people = np.arange(n0, n0 + n_new)
        anon, fake = new_people[:n_anon], new_people[n_anon:]
        # usernames: people's names for the real ones, machine-made for most fakes
        first = FIRST_NAMES
        last = LAST_NAMES
        f = pc.utf8_lower(_take(first, rng.integers(0, len(first), n_new)))
        lname = pc.utf8_lower(_take(last, rng.integers(0, len(last), n_new)))
        style = rng.random(n_new)
        real_name = pc.if_else(
            pa.array(style < 0.35),
            _join(f, ".", lname),
            pc.if_else(
                pa.array(style < 0.6),
                _join(f, "_", lname),
                pc.if_else(
                    pa.array(style < 0.8),
                    _join(f, lname),
                    _join(
                        f,
                        lname,
                        _take(
                            [".co", ".studio", ".life", "_shop", ".art"], rng.integers(0, 5, n_new)
                        ),
                    ),
                ),
            ),
        )
        year = rng.random(n_new) < 0.15
        real_name = pc.if_else(
            pa.array(year),
            _join(real_name, pc.cast(pa.array(rng.integers(70, 100, n_new)), pa.string())),
            real_name,
        )
        noise = _numbered(
            "", rng.integers(0, 36**10, n_new), 10, b"0123456789abcdefghijklmnopqrstuvwxyz"
        )
        digits = _numbered("", rng.integers(0, 10**8, n_new), 8)
        fstyle = rng.random(n_new)
        fake_name = pc.if_else(
            pa.array(fstyle < 0.2),
            _join("user", digits),
            pc.if_else(
                pa.array(fstyle < 0.55),
                noise,
                pc.if_else(
                    pa.array(fstyle < 0.8),
                    _join(f, pc.utf8_slice_codeunits(digits, 0, 6)),
                    _join(f, "_", lname, "_", pc.utf8_slice_codeunits(noise, 0, 4)),
                ),
            ),
        )
        is_fake = np.r_[np.zeros(n_anon, dtype=bool), np.ones(n_fake, dtype=bool)]
        names = pc.if_else(pa.array(is_fake), fake_name, real_name)
        # unique beside the handles the world's people already have ('.N' never ends theirs)
        taken = self.identities_table.column("value").take(pa.array(meta_ident)).combine_chunks()
        rank = _dup_rank(pa.concat_arrays([taken, names]))[len(taken) :]
        names = _join(names, _rank_suffix(rank, "."))
        # follow times: real ones over years, fakes mostly in bursts of a few hours
        real_t = np.where(
            rng.random(n_anon) < 0.4,
            -rng.integers(86_400, 3 * 365 * 86_400, n_anon),
            rng.integers(0, YEAR_SEC, n_anon),
        )
        burst_at = rng.integers(20, DAYS - 10, FAKE_BURSTS) * 86_400 + rng.integers(
            8 * 3600, 20 * 3600, FAKE_BURSTS
        )
        in_burst = rng.random(n_fake) < FAKE_IN_BURSTS
        fake_t = np.where(
            in_burst,
            burst_at[rng.integers(0, FAKE_BURSTS, n_fake)] + rng.integers(0, 3 * 3600, n_fake),
            rng.integers(0, YEAR_SEC, n_fake),
        )
        known_t = np.where(
            rng.random(len(known)) < 0.5,
            -rng.integers(86_400, 3 * 365 * 86_400, len(known)),
            rng.integers(0, YEAR_SEC, len(known)),
        )
        unf_real = (rng.random(n_anon) < 0.04) & (real_t < YEAR_SEC - 30 * 86_400)
        unf_real_at = np.maximum(real_t, 0) + rng.integers(86_400, 30 * 86_400, n_anon)
        unf_fake = rng.random(n_fake) < 0.08
        unf_fake_at = np.minimum(
            np.maximum(fake_t, 0) + rng.integers(86_400, 90 * 86_400, n_fake), YEAR_SEC - 1
        )
        # real followers outside the world who like or comment now and then
        talk = anon[rng.random(n_anon) < ANON_INTERACTING]
        k = rng.integers(1, 5, len(talk))
        t_person = np.repeat(talk, k)
        t_ts = rng.integers(0, YEAR_SEC - 1, len(t_person))
        t_kind = np.where(
            rng.random(len(t_person)) < 0.8,
            schema.TOUCH_KINDS.index("like"),
            schema.TOUCH_KINDS.index("comment"),
        )
        t_content = self.latest_content(IG, t_ts)
        ok = t_content >= 0
        self.t_person = np.r_[self.t_person, t_person[ok]]
        self.t_ts = np.r_[self.t_ts, t_ts[ok]]
        self.t_ch = np.r_[self.t_ch, np.full(int(ok.sum()), IG)]
        self.t_content = np.r_[self.t_content, t_content[ok]]
        self.t_kind = np.r_[self.t_kind, t_kind[ok]]
        order = np.argsort((self.t_ts << 24) | self.t_person, kind="stable")
        for name in ("t_person", "t_ts", "t_ch", "t_content", "t_kind"):
            setattr(self, name, getattr(self, name)[order])
        # the new people, their handles, and the whole list
        self.extra_people = n_new
        self.fake_people = fake
        self.person_ids = pa.concat_arrays(
            [self.person_ids, _numbered("p", np.arange(n0 + 1, n0 + n_new + 1), 7)]
        )
        new_ids = _numbered(
            "i", np.arange(len(self.ident_ids) + 1, len(self.ident_ids) + n_new + 1), 8
        )
        self.identities_table = pa.concat_tables(
            [
                self.identities_table,
                _table(
                    "identities",
                    {
                        "identity_id": new_ids,
                        "person_id": self.person_ids.take(pa.array(new_people)),
                        "kind": pa.array(["handle"] * n_new, pa.string()),
                        "platform": pa.array(["meta"] * n_new, pa.string()),
                        "value": names,
                        "value_hash": _sha256(names),
                    },
                ),
            ]
        )
        followed = np.r_[known_t, real_t, fake_t]
        unfollowed = np.r_[
            np.full(len(known), -1),
            np.where(unf_real & (unf_real_at < YEAR_SEC), unf_real_at, -1),
            np.where(unf_fake, unf_fake_at, -1),
        ]
        m = len(followed)
        ig_rows = _table(
            "audience",
            {
                "channel_id": pa.array(["instagram"] * m, pa.string()),
                "identity_id": pa.concat_arrays([self.ident_ids.take(pa.array(known)), new_ids]),
                "person_id": pa.nulls(m, pa.string()),
                "followed_at": _ts(followed),
                "unfollowed_at": _ts(np.maximum(unfollowed, 0), unfollowed >= 0),
            },
        )
        self.audience_table = pa.concat_tables(
            [self.audience_table, ig_rows.cast(self.audience_table.schema)]
        )
        first_seen = np.minimum(np.r_[real_t, fake_t], YEAR_SEC - 1)
        np.minimum.at(first_seen, t_person[ok] - n0, t_ts[ok])
        self.new_first_seen = first_seen

    # ---- metrics, costs ----------------------------------------------------------------------------

    def metrics(self) -> None:
        rng = self.rng
        ch: list[IntArray] = []
        content: list[IntArray] = []
        day: list[IntArray] = []
        metric: list[list[str]] = []
        value: list[FloatArray] = []
        all_days = np.arange(DAYS)

        def add(c: int, cont: IntArray, d: IntArray, name: str, v: FloatArray) -> None:
            ch.append(np.full(len(d), c))
            content.append(cont)
            day.append(d)
            metric.append([name] * len(d))
            value.append(np.asarray(v, dtype=np.float64))

        # newsletter subscribers per day, from the audience list
        f_day = np.clip(self.nl_followed // 86_400, 0, DAYS)
        u = self.nl_unfollowed
        u_day = np.where(u >= 0, u // 86_400, DAYS)
        active = np.cumsum(np.bincount(f_day, minlength=DAYS + 1)[:DAYS]) - np.cumsum(
            np.bincount(u_day, minlength=DAYS + 1)[:DAYS]
        )
        self.follower_series[NL] = active.astype(np.float64)
        for c in (*SOCIAL, NL):
            name = AUDIENCE_METRIC.get(CH[c], "followers")
            add(c, np.full(DAYS, -1), all_days, name, self.follower_series[c])
        # per piece of content, dated on its publish date
        for c in SOCIAL:
            idx = self.ch_content[c]
            d = self.c_pub[idx] // 86_400
            audience = self.follower_series[c][d]
            reach, like, comment, share = ENGAGEMENT[c]
            k = len(idx)
            impressions = np.round(audience * reach * rng.lognormal(-0.3, 0.75, k))
            views = np.round(impressions * rng.uniform(0.25, 0.45, k))
            likes = np.round(impressions * like * rng.lognormal(-0.2, 0.6, k))
            comments = np.round(impressions * comment * rng.lognormal(-0.2, 0.7, k))
            shares = np.round(impressions * share * rng.lognormal(-0.2, 0.8, k))
            add(c, idx, d, "impressions", impressions)
            if c == YT:
                add(c, idx, d, "views", views)
            add(c, idx, d, "likes", likes)
            add(c, idx, d, "comments", comments)
            add(c, idx, d, "shares", shares)
        idx = self.ch_content[NL]
        d = self.c_pub[idx] // 86_400
        opens = np.round(self.follower_series[NL][d] * rng.uniform(0.38, 0.52, len(idx)))
        add(NL, idx, d, "opens", opens)
        add(NL, idx, d, "clicks", np.round(opens * rng.uniform(0.05, 0.12, len(idx))))
        idx = self.ch_content[WEB]
        add(
            WEB,
            idx,
            self.c_pub[idx] // 86_400,
            "pageviews",
            np.round(rng.lognormal(6.5, 0.9, len(idx)) * self.spec.audience_scale),
        )
        idx = self.ch_content[TS]
        add(
            TS,
            idx,
            self.c_pub[idx] // 86_400,
            "attendees",
            np.round(rng.uniform(30, 220, len(idx))),
        )
        cont = np.concatenate(content)
        self.metrics_table = _table(
            "metrics",
            {
                "channel_id": _take(CH, np.concatenate(ch)),
                "content_id": _take(self.content_ids, cont, cont >= 0),
                "date": _dates(np.concatenate(day)),
                "metric": _strings([x for m in metric for x in m]),
                "value": pa.array(np.concatenate(value), pa.float64()),
            },
        )

    def costs(self) -> None:
        rng = self.rng
        weeks = np.arange(0, DAYS, 7)  # Mondays; the last week runs into 2025
        nw = len(weeks)
        ch_l, start_l, dollars_l, hours_l = [], [], [], []
        show_weeks = {s[2] // 7 for s in SHOWS}
        hours_scale = self.scale**0.5
        for c in range(NCH):
            base_d, base_h = WEEKLY_COST[c]
            dollars = base_d * rng.lognormal(-0.02, 0.2, nw)
            hours = base_h * rng.lognormal(-0.02, 0.25, nw)
            if c == LI:
                boost = rng.random(nw) < 0.15
                dollars[boost] += rng.uniform(100, 400, int(boost.sum()))
            if c == GA:
                dollars *= np.where((weeks > 330) | ((weeks > 180) & (weeks < 240)), 0.7, 1.0)
            if c == TS:
                dollars = np.zeros(nw)
                for w in show_weeks:
                    dollars[w] = rng.uniform(7_000, 16_000)
                    hours[w] = rng.uniform(30, 50)
                    if w > 0:
                        hours[w - 1] += rng.uniform(8, 16)
            ch_l.append(np.full(nw, c))
            start_l.append(weeks)
            dollars_l.append(np.round(dollars * self.scale, 2))
            hours_l.append(np.round(hours * hours_scale, 1))
        ch = np.concatenate(ch_l)
        start = np.concatenate(start_l)
        order = np.lexsort((ch, start))
        self.costs_table = _table(
            "costs",
            {
                "channel_id": _take(CH, ch[order]),
                "period_start": _dates(start[order]),
                "period_end": _dates(start[order] + 6),
                "dollars": _money(np.concatenate(dollars_l)[order]),
                "hours": pa.array(np.concatenate(hours_l)[order], pa.float64()),
                "currency": pa.array(["USD"] * len(order), pa.string()),
            },
        )

    # ---- putting it together -----------------------------------------------------------------------

    def outcome_table(self) -> pa.Table:
        n = len(self.o_ts)
        types = np.array(schema.OUTCOME_TYPES)[self.o_type]
        money = np.isin(types, MONEY_TYPES)
        # order refs: new ones for sales, the refunded sale's for refunds
        ref_num = np.cumsum(money & (self.o_refund_of < 0))
        ref_num = np.where(self.o_refund_of >= 0, ref_num[np.maximum(self.o_refund_of, 0)], ref_num)
        self.outcome_ids = _numbered("o", np.arange(1, n + 1), max(6, len(str(n))))
        return _table(
            "outcomes",
            {
                "outcome_id": self.outcome_ids,
                "person_id": _take(self.person_ids, self.o_person, self.o_person >= 0),
                "ts": _ts(self.o_ts),
                "type": _take(list(schema.OUTCOME_TYPES), self.o_type),
                "value": _money(self.o_val, money),
                "currency": pc.if_else(pa.array(money), "USD", pa.scalar(None, pa.string())),
                "channel_id": _take(CH, self.o_ch, self.o_self),
                "order_ref": pc.if_else(
                    pa.array(money), _numbered("SO-24-", ref_num, 6), pa.scalar(None, pa.string())
                ),
                "referred_by": _take(self.person_ids, self.o_referred_by, self.o_referred_by >= 0),
            },
        )

    def people_table(self) -> pa.Table:
        rng, n = self.rng, self.n
        first = np.full(n, YEAR_SEC - 1, dtype=np.int64)
        mine = self.t_person < n  # touches of the world's own people (not list-only followers)
        np.minimum.at(first, self.t_person[mine], self.t_ts[mine])
        known = self.o_person >= 0
        np.minimum.at(first, self.o_person[known], self.o_ts[known])
        first = np.minimum(first, self.aud_first)
        client = self.has_touch[:, CS]
        first = np.where(
            client, np.minimum(first, -rng.integers(30 * 86_400, 6 * 365 * 86_400, n)), first
        )
        people = _table("people", {**self.people_cols, "first_seen": _ts(first)})
        if not self.extra_people:
            return people
        k = self.extra_people
        extra = _table(
            "people",
            {
                "person_id": self.person_ids.take(pa.array(np.arange(n, n + k))),
                "display_name": pa.nulls(k, pa.string()),
                "company": pa.nulls(k, pa.string()),
                "title": pa.nulls(k, pa.string()),
                "industry": pa.nulls(k, pa.string()),
                "location": pa.nulls(k, pa.string()),
                "first_seen": _ts(self.new_first_seen),
            },
        )
        return pa.concat_tables([people, extra.cast(people.schema)])

    def params(self) -> dict[str, Any]:
        types = np.array(schema.OUTCOME_TYPES)[self.o_type]
        money = np.isin(types, MONEY_TYPES)
        sign = np.where(np.isin(types, schema.NEGATIVE_MONEY_TYPES), -1.0, 1.0)
        per_channel: dict[str, Any] = {}
        for c in range(NCH):
            m = self.o_ch == c
            counts = {t: int(((types == t) & m).sum()) for t in schema.OUTCOME_TYPES}
            per_channel[CH[c]] = {
                "outcomes": {t: v for t, v in counts.items() if v},
                "usd_gross": round(float(self.o_val[m & money & (sign > 0)].sum()), 2),
                "usd_refunded": round(float(self.o_val[m & money & (sign < 0)].sum()), 2),
                "usd": round(float((self.o_val[m & money] * sign[m & money]).sum()), 2),
                "followers_end": int(self.follower_series[c][-1])
                if c in self.follower_series
                else None,
            }
        has_p = self.o_person >= 0
        not_self = has_p & ~self.o_self
        return {
            "seed": self.seed,
            "size": self.size,
            "people": self.n,
            "period": {"start": f"{YEAR}-01-01", "end": f"{YEAR}-12-31"},
            "business": BUSINESS,
            "audience_scale": self.spec.audience_scale,
            "outcome_scale": self.scale,
            "rows": {name: t.num_rows for name, t in self.tables.items()},
            "channels": per_channel,
            "followers": {CH[c]: int(s[-1]) for c, s in self.follower_series.items()},
            "usd_total": round(float(sum(v["usd"] for v in per_channel.values())), 2),
            "self_report_rate_target": SELF_REPORT_RATE,
            "self_report_rate": round(float(self.o_self.mean()), 4),
            "anonymous_outcomes": int((~has_p).sum()),
            "noise_rate_target": NOISE_RATE,
            "noise_rate": round(float(self.noisy[not_self].mean()), 4) if not_self.any() else 0.0,
            "noise_rate_self_reported": NOISE_RATE_SELF_REPORTED,
            "lookback_days": LOOKBACK_DAYS,
            "max_cause_delay_days": MAX_CAUSE_DELAY / 86_400,
            "outcome_rates_small": OUTCOME_RATES,
            "value_mean_usd": {
                CH[c]: {**VALUE_MEAN, **VALUE_MEAN_BY_CHANNEL.get(CH[c], {})} for c in range(NCH)
            },
            "personas": {p[0]: {"share": p[1], "mean_touches": p[2]} for p in PERSONAS},
            "true_fans": len(self.fans),
            "superfans": len(self.superfans),
            "lapsed_regulars": len(self.lapsed),
            "instagram_list_only_people": self.extra_people,
            "fake_followers": len(self.fake_people),
        }

    def run(self) -> World:
        self.followers()
        self.contents()
        self.people()
        self.touchpoints()
        self.has_touch = np.zeros((self.n, NCH), dtype=bool)
        self.has_touch[self.t_person, self.t_ch] = True
        self.identities()
        self.audience()
        self.instagram_followers()
        self.metrics()
        self.costs()
        self.tables = {
            "channels": self.channels(),
            "people": self.people_table(),
            "contents": self.contents_table,
            "identities": self.identities_table,
            "audience": self.audience_table,
            "touchpoints": self.touch_table(),
            "outcomes": self.outcome_table(),
            "costs": self.costs_table,
            "metrics": self.metrics_table,
        }
        truth = pa.table({"outcome_id": self.outcome_ids, "channel_id": _take(CH, self.o_ch)})
        fans = np.r_[self.fans, self.superfans, self.lapsed, self.fake_people]
        labels = (
            ["true_fan"] * len(self.fans)
            + ["superfan"] * len(self.superfans)
            + ["lapsed"] * len(self.lapsed)
            + ["fake_follower"] * len(self.fake_people)
        )
        truth_people = pa.table(
            {"person_id": _take(self.person_ids, fans), "label": pa.array(labels, pa.string())}
        )
        return World(
            tables=self.tables, truth=truth, truth_people=truth_people, params=self.params()
        )
