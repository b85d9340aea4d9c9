"""Claim: `picture` on the large demo workspace is within 2x of one hand-written DuckDB query.

The large demo (seed 7: about 1,000,000 people and 20,000,000 touchpoints) is built once into
``benchmarks/_data/large_demo.duckdb``. In one process, after one warm-up of each, ``--runs``
timed runs of each contender alternate; every run opens the file afresh:

* truefans: ``open_workspace(path).picture()``, close;
* hand query: ``duckdb.connect(path)``, :data:`HAND_SQL` fetched, close.

Before timing, the script checks that the hand query gives exactly the picture's per-channel
numbers, so both compute the same thing.

Usage: ``.venv/bin/python benchmarks/picture.py [--size large] [--workspace PATH] [--write]``
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import _common as c
from truefans.schema import ENGAGED_TOUCH_KINDS

NAME = "picture"
SEED = 7
TIME_RATIO = 2.0
SECONDS_TARGET = 3.0

#: the numbers compared between the picture and the hand query, per channel
COMPARED = [
    "audience",
    "engaged",
    "known",
    "questions",
    "calls",
    "leads",
    "new_accounts",
    "orders",
    "renewals",
    "other_outcomes",
    "dollars",
    "cost_dollars",
    "cost_hours",
]
#: money is rounded to cents by the picture; float sums in another order may land a cent apart
MONEY = {"dollars", "cost_dollars", "cost_hours"}

#: the touch kinds that count as engaging: the schema's definition, so the two cannot drift apart
ENGAGED = ",".join(f"'{k}'" for k in ENGAGED_TOUCH_KINDS)

#: One query, written by hand, for the picture's per-channel numbers: outcomes attributed to the
#: self-reported channel, else the last touch in the 30 days up to the outcome (latest first,
#: then smallest channel_id), else '(unattributed)'; counts per outcome type; money in the main
#: currency (the settings' currency, else the one with the largest absolute sums) with refunds
#: and fees subtracted; engaged and known people per channel; the audience from the last
#: followers/subscribers/connections/members metric, else the follower list; costs. Engaged and
#: known people come from one group-by per person keeping the channels as bits (numbered in
#: channel_id order), the people then counted per combination of bits: the picture's own method.
HAND_SQL = f"""
WITH last_touch AS (
  SELECT o.outcome_id, first(t.channel_id ORDER BY t.ts DESC, t.channel_id) AS channel_id
  FROM outcomes o
  JOIN touchpoints t
    ON t.person_id = o.person_id AND t.ts <= o.ts AND t.ts >= o.ts - INTERVAL 30 DAY
  WHERE o.channel_id IS NULL
  GROUP BY o.outcome_id
),
att AS MATERIALIZED (
  SELECT coalesce(o.channel_id, l.channel_id, '(unattributed)') AS channel_id, o.type,
    o.currency, o.value IS NOT NULL AND o.currency IS NOT NULL AS has_money,
    CASE WHEN o.type IN ('refund', 'fee') THEN -abs(o.value::DOUBLE) ELSE o.value::DOUBLE END
      AS money
  FROM outcomes o LEFT JOIN last_touch l USING (outcome_id)
),
money AS (
  SELECT channel_id, currency, sum(money) AS amount FROM att WHERE has_money GROUP BY ALL
),
cost AS (
  SELECT channel_id, currency, sum(dollars::DOUBLE) AS dollars, sum(hours) AS hours
  FROM costs GROUP BY ALL
),
main AS (
  SELECT coalesce(
    (SELECT value FROM settings WHERE key = 'currency'),
    (SELECT currency FROM (
        SELECT currency, abs(amount) AS a FROM money
        UNION ALL SELECT currency, abs(coalesce(dollars, 0)) FROM cost)
     WHERE currency IS NOT NULL GROUP BY currency ORDER BY sum(a) DESC LIMIT 1),
    'USD') AS cur
),
outcome_counts AS (
  SELECT channel_id,
    count(*) FILTER (type = 'question') AS questions,
    count(*) FILTER (type = 'call') AS calls,
    count(*) FILTER (type = 'lead') AS leads,
    count(*) FILTER (type = 'new_account') AS new_accounts,
    count(*) FILTER (type = 'order') AS orders,
    count(*) FILTER (type = 'renewal') AS renewals,
    count(*) FILTER (type NOT IN ('question', 'call', 'lead', 'new_account', 'order',
                                  'renewal')) AS other_outcomes
  FROM att GROUP BY channel_id
),
dollars AS (
  SELECT channel_id, sum(amount) AS dollars FROM money
  WHERE currency = (SELECT cur FROM main) GROUP BY channel_id
),
chan_bits AS (
  SELECT channel_id, 1::BIGINT << (row_number() OVER (ORDER BY channel_id) - 1)::INT AS bit
  FROM channels
),
per_person AS (
  SELECT person_id, bit_or(bit) AS seen, coalesce(bit_or(bit) FILTER (engaged), 0) AS engaged,
    bool_or(reach) AS reach
  FROM (
    SELECT t.person_id, b.bit, t.kind IN ({ENGAGED}) AS engaged, false AS reach
    FROM touchpoints t JOIN chan_bits b USING (channel_id)
    UNION ALL
    SELECT i.person_id, b.bit, false, false
    FROM audience a JOIN identities i USING (identity_id) JOIN chan_bits b USING (channel_id)
    UNION ALL
    SELECT person_id, 0, false, true FROM identities
    WHERE kind IN ('email', 'phone') AND person_id IS NOT NULL
  ) GROUP BY person_id
),
combos AS (
  SELECT seen, engaged, reach, count(*) AS n FROM per_person GROUP BY ALL
),
people AS (
  SELECT b.channel_id, sum(n) FILTER ((c.engaged & b.bit) <> 0) AS engaged,
    sum(n) FILTER (c.reach AND (c.seen & b.bit) <> 0) AS known
  FROM combos c CROSS JOIN chan_bits b GROUP BY b.channel_id
),
audience_metric AS (
  SELECT channel_id, max(last_value) AS audience FROM (
    SELECT channel_id, metric, arg_max(value, date) AS last_value FROM metrics
    WHERE metric IN ('followers', 'subscribers', 'connections', 'members')
      AND content_id IS NULL
    GROUP BY channel_id, metric)
  GROUP BY channel_id
),
audience_list AS (
  SELECT channel_id, count(*) AS listed FROM audience WHERE unfollowed_at IS NULL
  GROUP BY channel_id
),
cost_main AS (
  SELECT channel_id,
    sum(dollars) FILTER (currency = (SELECT cur FROM main) OR currency IS NULL) AS cost_dollars,
    sum(hours) AS cost_hours
  FROM cost GROUP BY channel_id
),
rows AS (
  SELECT channel_id FROM channels
  UNION
  SELECT channel_id FROM att WHERE channel_id = '(unattributed)'
)
SELECT r.channel_id,
  coalesce(am.audience, al.listed, 0)::BIGINT AS audience,
  coalesce(p.engaged, 0)::BIGINT AS engaged, coalesce(p.known, 0)::BIGINT AS known,
  coalesce(oc.questions, 0) AS questions, coalesce(oc.calls, 0) AS calls,
  coalesce(oc.leads, 0) AS leads, coalesce(oc.new_accounts, 0) AS new_accounts,
  coalesce(oc.orders, 0) AS orders, coalesce(oc.renewals, 0) AS renewals,
  coalesce(oc.other_outcomes, 0) AS other_outcomes,
  round(coalesce(d.dollars, 0), 2) AS dollars,
  round(coalesce(cm.cost_dollars, 0), 2) AS cost_dollars,
  round(coalesce(cm.cost_hours, 0), 2) AS cost_hours,
  (SELECT cur FROM main) AS currency
FROM rows r
LEFT JOIN audience_metric am USING (channel_id)
LEFT JOIN audience_list al USING (channel_id)
LEFT JOIN people p USING (channel_id)
LEFT JOIN outcome_counts oc USING (channel_id)
LEFT JOIN dollars d USING (channel_id)
LEFT JOIN cost_main cm USING (channel_id)
ORDER BY r.channel_id
"""


class CannotMeasure(Exception):
    pass


def generator_fingerprint() -> str:
    """A digest of the demo generator's source: a changed generator means a rebuilt demo."""
    import hashlib

    import truefans.demo

    h = hashlib.sha256()
    for name in ("__init__.py", "world.py"):
        f = Path(truefans.demo.__file__).with_name(name)
        h.update(f.read_bytes() if f.exists() else b"missing")
    return h.hexdigest()[:16]


def ensure_demo(size: str) -> Path:
    """The demo workspace of ``size`` (seed 7), built once through ``build_demo``.

    It is rebuilt when the demo generator's source changed since it was built.
    """
    import truefans

    path = c.data_dir() / f"{size}_demo.duckdb"
    stamp = path.with_name(path.name + ".generator")
    fingerprint = generator_fingerprint()
    if path.exists() and (not stamp.exists() or stamp.read_text().strip() != fingerprint):
        c.log(f"{path.name} was built by another version of the demo generator: rebuilding it")
        c.remove_db(path)
    if path.exists():
        try:
            with truefans.open_workspace(path, create=False) as ws:
                have = (ws.setting("demo"), ws.setting("demo_seed"), ws.setting("demo_size"))
        except truefans.TruefansError as e:
            raise CannotMeasure(f"cannot open {path}: {e}") from e
        if have == ("true", str(SEED), size):
            c.log(f"reusing {path.relative_to(c.ROOT)} ({path.stat().st_size / c.MB:,.0f} MB)")
            return path
        c.log(f"{path.name} holds {have}, not the {size} demo of seed {SEED}: rebuilding it")
    try:
        from truefans.demo import build_demo
        from truefans.demo.world import generate  # noqa: F401  (fail early and clearly)
    except Exception as e:  # the generator is missing or broken
        raise CannotMeasure(
            f"the demo world generator cannot be imported ({type(e).__name__}: {e}); "
            f"cannot build the {size} demo"
        ) from e
    building = path.with_name(path.name + ".building")
    c.remove_db(building)
    c.log(f"building the {size} demo (seed {SEED}) into {path.relative_to(c.ROOT)}")
    c.log("this takes a while for the large size (generate, write Parquet, import 9 tables)")
    t0 = time.perf_counter()
    try:
        with truefans.open_workspace(building) as ws:
            info = build_demo(ws, seed=SEED, size=size)
    except Exception as e:
        c.remove_db(building)
        raise CannotMeasure(f"building the {size} demo failed ({type(e).__name__}: {e})") from e
    os.replace(building, path)
    Path(str(building) + ".wal").unlink(missing_ok=True)
    stamp.write_text(fingerprint + "\n")
    c.log(f"built in {time.perf_counter() - t0:.0f} s: {info}")
    return path


def run_picture(path: Path) -> tuple[float, Any]:
    import truefans

    t0 = time.perf_counter()
    ws = truefans.open_workspace(path, create=False)
    result = ws.picture()
    ws.close()
    return time.perf_counter() - t0, result.table


def run_hand(path: Path) -> tuple[float, Any]:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(str(path))
    frame = con.execute(HAND_SQL).df()
    con.close()
    return time.perf_counter() - t0, frame


def _caller_label(frame: Any) -> str:
    """``function() target``: the statement (found with ast) that made the call."""
    import ast

    try:
        tree = ast.parse(Path(frame.f_code.co_filename).read_text())
    except (OSError, SyntaxError):
        return f"{frame.f_code.co_name}() line {frame.f_lineno}"
    line = frame.f_lineno
    best: ast.stmt | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            continue
        end = node.end_lineno or node.lineno
        if node.lineno <= line <= end and (best is None or node.lineno >= best.lineno):
            best = node
    if isinstance(best, ast.Assign):
        what = ", ".join(ast.unparse(t) for t in best.targets)
    elif isinstance(best, ast.With):
        what = "with " + ", ".join(
            ast.unparse(i.optional_vars or i.context_expr) for i in best.items
        )
    elif isinstance(best, ast.Return):
        what = "return"
    elif best is not None:
        what = ast.unparse(best).split("\n", 1)[0]
    else:
        what = f"line {line}"
    return f"{frame.f_code.co_name}() {what[:40]}"


def profile_picture(path: Path) -> tuple[float, float, list[tuple[float, float, str]]]:
    """One picture run with each query the engine runs timed, labelled by its caller.

    Returns (seconds, CPU seconds, [(seconds, CPU seconds, label)]).
    """
    from contextlib import contextmanager

    import truefans
    from truefans.engine import DuckDBEngine

    steps: list[tuple[float, float, str]] = []
    real_execute = DuckDBEngine.execute
    real_materialized = getattr(DuckDBEngine, "materialized", None)

    def execute(self: Any, expr: Any) -> Any:
        label = _caller_label(sys._getframe(1))
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return real_execute(self, expr)
        finally:
            steps.append((time.perf_counter() - t0, time.process_time() - c0, label))

    @contextmanager
    def materialized(self: Any, expr: Any) -> Any:
        try:  # the frame of the `with` statement, past contextlib's __enter__
            label = "materialize for " + _caller_label(sys._getframe(2))
        except ValueError:
            label = "materialize"
        assert real_materialized is not None
        t0, c0 = time.perf_counter(), time.process_time()
        with real_materialized(self, expr) as table:
            steps.append((time.perf_counter() - t0, time.process_time() - c0, label))
            yield table

    DuckDBEngine.execute = execute  # type: ignore[method-assign]
    if real_materialized is not None:
        DuckDBEngine.materialized = materialized  # type: ignore[attr-defined]
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        ws = truefans.open_workspace(path, create=False)
        opened, c1 = time.perf_counter(), time.process_time()
        ws.picture()
        done, c2 = time.perf_counter(), time.process_time()
        ws.close()
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        DuckDBEngine.execute = real_execute  # type: ignore[method-assign]
        if real_materialized is not None:
            DuckDBEngine.materialized = real_materialized  # type: ignore[attr-defined]
    in_engine = sum(s for s, _, _ in steps), sum(u for _, u, _ in steps)
    steps.append((opened - t0, c1 - c0, "open_workspace"))
    steps.append(
        (
            done - opened - in_engine[0],
            c2 - c1 - in_engine[1],
            "rest of picture() (building Ibis expressions, pandas assembly)",
        )
    )
    return total, cpu, sorted(steps, key=lambda t: -t[1])


def compare(pic: Any, hand: Any) -> list[str]:
    """Differences between the picture's table and the hand query's, as readable lines."""
    problems = []
    p = pic.set_index("channel_id")
    h = hand.set_index("channel_id")
    if sorted(p.index) != sorted(h.index):
        problems.append(f"channels differ: picture {sorted(p.index)}, hand {sorted(h.index)}")
        return problems
    cur = set(hand["currency"])
    if cur != set(pic["currency"]):
        problems.append(f"main currency differs: picture {set(pic['currency'])}, hand {cur}")
    for ch in p.index:
        for col in COMPARED:
            a, b = float(p.at[ch, col]), float(h.at[ch, col])
            tol = 0.011 + 1e-9 * abs(a) if col in MONEY else 0.0
            if math.isnan(a) or math.isnan(b) or abs(a - b) > tol:
                problems.append(f"{ch}.{col}: picture {a!r}, hand query {b!r}")
    return problems


def describe(path: Path) -> str:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        counts = {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
            for t in ("people", "touchpoints", "outcomes", "identities", "audience", "metrics")
        }
    return ", ".join(f"{n:,} {t}" for t, n in counts.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="large", help="demo size to build/use (default large)")
    ap.add_argument("--workspace", type=Path, help="time this workspace instead of a demo")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per contender")
    ap.add_argument("--write", action="store_true", help="store the section in RESULTS.md")
    args = ap.parse_args()
    try:
        path = args.workspace or ensure_demo(args.size)
    except CannotMeasure as e:
        print(f"picture benchmark: cannot measure: {e}", file=sys.stderr)
        return 2
    if not path.exists():
        print(f"picture benchmark: no workspace at {path}", file=sys.stderr)
        return 2
    what = f"`{path.relative_to(c.ROOT) if path.is_relative_to(c.ROOT) else path}`"
    contents = describe(path)
    c.log(f"workspace {what}: {contents}")

    with c.step("warm-up and check: picture vs hand query"):
        _, pic = run_picture(path)
        _, hand = run_hand(path)
        problems = compare(pic, hand)
    assert not problems, (
        "the hand-written query does not compute the picture's numbers, so the timing would not "
        "compare like with like:\n  " + "\n  ".join(problems)
    )
    c.log(f"hand query matches the picture on {len(pic)} channels x {len(COMPARED)} numbers")

    t_pic: list[float] = []
    t_hand: list[float] = []
    cpu_pic: list[float] = []
    cpu_hand: list[float] = []
    noise = c.OtherLoad()
    c.wait_quiet()
    rss = c.RssWatch()
    for i in range(1, args.runs + 1):
        first, second = (run_picture, run_hand) if i % 2 else (run_hand, run_picture)
        for fn in (first, second):
            c.wait_quiet(max_wait=120)
            noise.start()
            c0 = time.process_time()
            secs, _ = fn(path)
            cpu = time.process_time() - c0
            noise.stop()
            (t_pic if fn is run_picture else t_hand).append(secs)
            (cpu_pic if fn is run_picture else cpu_hand).append(cpu)
            c.log(
                f"run {i}/{args.runs} {'picture' if fn is run_picture else 'hand   '}: {secs:.2f} s"
            )

    with c.step("profile run (each engine query timed)"):
        prof_total, prof_cpu, prof = profile_picture(path)
    for secs, cpu, label in prof:
        c.log(f"  {secs:6.2f} s  {cpu:6.2f} CPU-s  {label}")
    peak = rss.peak_since_mark()
    rss.stop()
    p_med, h_med = c.median(t_pic), c.median(t_hand)
    ratio = p_med / h_med
    table = [
        ["", "hand-written DuckDB query", "truefans picture", "picture / hand"],
        [
            f"time, median (min) of {args.runs} after a warm-up",
            f"{c.fmt_s(h_med)} ({c.fmt_s(min(t_hand))})",
            f"{c.fmt_s(p_med)} ({c.fmt_s(min(t_pic))})",
            f"{ratio:.2f}x (min / min {min(t_pic) / min(t_hand):.2f}x)",
        ],
        [
            "CPU time (user + system, all threads), median",
            f"{c.median(cpu_hand):.2f} CPU-s",
            f"{c.median(cpu_pic):.2f} CPU-s",
            f"{c.median(cpu_pic) / c.median(cpu_hand):.2f}x",
        ],
    ]
    met = [
        (f"picture within {TIME_RATIO:.0f}x of the hand query ({ratio:.2f}x)", ratio <= TIME_RATIO),
        (
            f"picture under {SECONDS_TARGET:.0f} s on {c.cores()} cores ({c.fmt_s(p_med)})",
            p_med < SECONDS_TARGET,
        ),
    ]
    source = (
        f"the {args.size} demo (seed {SEED}, built with `build_demo`)"
        if args.workspace is None
        else "a workspace given with --workspace"
    )
    notes = [
        f"Workspace: {source}, {what}: {contents}.",
        "Each run opens the file afresh (`open_workspace` + `picture()` + close; "
        "`duckdb.connect` + the query + close), in one process, after one warm-up of each; the "
        "two contenders alternate.",
        f"Checked before timing: the hand query's {', '.join(COMPARED)} equal the picture's on "
        f"all {len(pic)} rows (money within a cent).",
        "The hand query is `HAND_SQL` in `benchmarks/picture.py`: last touch by a range join "
        "grouped per outcome (`first(channel ORDER BY ts DESC, channel)`), conditional counts, "
        "`arg_max` for the last audience metric; engaged and known people by the picture's own "
        "method (one group-by per person keeping channels as bits, then people counted per "
        "combination of bits).",
        c.summaries_note(path),
        noise.note(),
        f"Peak RSS of the benchmark process during the timed runs (both contenders; sampled "
        f"every 10 ms): {c.fmt_mb(peak)}.",
        f"Where the picture's time goes (one extra profiled run: {prof_total:.2f} s, "
        f"{prof_cpu:.2f} CPU-s in all; by CPU time, wall time / CPU time of all threads, steps "
        "under 0.05 s left out): "
        + "; ".join(
            f"{label} {secs:.2f} s / {cpu:.2f} CPU-s"
            for secs, cpu, label in prof
            if secs >= 0.05 or cpu >= 0.05
        )
        + ".",
    ]
    title_size = args.size if args.workspace is None else "given"
    name = NAME if args.workspace is None and args.size == "large" else f"{NAME}-{title_size}"
    body = c.section(
        name,
        f"`picture` on the {title_size} demo workspace vs one hand-written DuckDB query",
        "`picture` on the large demo workspace (1M people, 20M touchpoints) runs within 2x of "
        "one hand-written DuckDB SQL query computing the same per-channel numbers, and under "
        "3 s on 2 cores.",
        f"median picture time <= {TIME_RATIO:.0f}x the median hand-query time; median picture "
        f"time < {SECONDS_TARGET:.0f} s.",
        table,
        met,
        notes,
    )
    c.emit(name, body, args.write)
    return 0 if all(ok for _, ok in met) else 1


if __name__ == "__main__":
    sys.exit(main())
