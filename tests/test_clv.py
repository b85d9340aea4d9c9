"""`clv` end to end: CDNOW through the real import path reproduces Fader, Hardie & Lee (2005),
and awkward data gives answers or clear messages, never NaN."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from truefans import open_workspace
from truefans.cli import app
from truefans.errors import TruefansError
from truefans.measure.clv import clv
from truefans.measure.rfm import summarise

CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow"
needs_cdnow = pytest.mark.skipif(
    not (CDNOW / "CDNOW_sample.txt").exists(), reason="shared CDNOW data not present"
)


def _outcomes_csv(path: Path, rows: list[tuple[str, str, float]], currency: str = "USD") -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["outcome_id", "person_id", "ts", "type", "value", "currency"])
        for i, (person, day, value) in enumerate(rows):
            w.writerow([f"o{i}", person, f"{day} 12:00:00", "order", value, currency])
    return path


@pytest.fixture(scope="module")
def cdnow_ws(tmp_path_factory):
    """The 1/10 CDNOW sample imported as orders through the generic import."""
    tmp = tmp_path_factory.mktemp("cdnow")
    rows = []
    for line in (CDNOW / "CDNOW_sample.txt").read_text().split("\n"):
        if not line.strip():
            continue
        _, sample_id, day, _, dollars = line.split()
        rows.append((f"c{int(sample_id):04d}", f"{day[:4]}-{day[4:6]}-{day[6:]}", float(dollars)))
    path = _outcomes_csv(tmp / "outcomes.csv", rows)
    ws = open_workspace(tmp / "cdnow.duckdb")
    [report] = ws.import_files([path])
    assert report.status == "ok" and report.added == 6919
    yield ws
    ws.close()


@needs_cdnow
def test_engine_summary_matches_the_published_summary(cdnow_ws):
    import datetime as dt

    s = summarise(
        cdnow_ws.engine,
        calibration_end=dt.date(1997, 9, 30),
        observation_end=dt.date(1998, 6, 30),
        time_unit="week",
    )
    ref = pd.read_csv(CDNOW / "cdnow_calibration_holdout_derived.csv")
    ref["person_id"] = ref["sample_id"].map(lambda i: f"c{i:04d}")
    m = s.people.merge(ref, on="person_id", suffixes=("", "_ref"))
    assert len(m) == len(s.people) == 2357
    assert (m["x"] == m["x_ref"]).all()
    assert np.allclose(m["t_x"], m["t_x_ref"], atol=1e-6)
    assert np.allclose(m["T"], m["T_ref"], atol=1e-6)
    assert np.allclose(m["mean_spend"], m["zbar"], atol=0.005)
    assert (m["x_holdout"] == m["x_star"]).all()
    # weighted distinct rows carry every customer once
    assert s.collapsed["weight"].sum() == 2357 and len(s.collapsed) < 2357


@needs_cdnow
def test_bgnbd_holdout_reproduces_fader_hardie_lee(cdnow_ws):
    res = clv(cdnow_ws, calibration_end="1997-09-30", as_of="1998-06-30")
    p = res.extra["params"]
    for name, published in (("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)):
        assert abs(p[name] - published) <= 0.0005, (name, p[name])
    assert abs(res.extra["log_likelihood"] - (-9582.4)) <= 0.05
    assert res.extra["converged"] is True
    hold = res.extra["holdout"]
    assert abs(hold["length"] - 39.0) < 1e-9
    zero = next(r for r in hold["by_calibration_frequency"] if r["frequency"] == "0")
    assert zero["customers"] == 1411
    assert abs(zero["model"] - 0.225) <= 0.005
    assert abs(zero["actual"] - 334 / 1411) < 1e-9
    assert abs(hold["correlation_model"] - 0.626) <= 0.002
    assert abs(hold["cumulative_error_at_end"] - (-0.041)) <= 0.003
    end = hold["tracking"][-1]
    assert end["actual"] == 4339 and len(hold["tracking"]) == 78
    # customer 0001: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases expected in 39 weeks
    row = res.table.set_index("person_id").loc["c0001"]
    assert abs(row["predicted_holdout"] - 1.226) <= 0.001
    # the naive baseline is shown and the model beats it on this data
    assert hold["correlation_naive"] is not None
    assert hold["mae_model"] < hold["mae_naive"]
    # Gamma-Gamma on the 946 repeaters of the same engine summary
    spend = res.extra["spend"]
    assert spend["method"] == "Gamma-Gamma" and spend["fit"]["customers"] == 946
    for name, published in (("p", 6.25), ("q", 3.74), ("gamma", 15.44)):
        assert abs(spend["params"][name] - published) <= 0.015, (name, spend["params"])
    assert -1 <= spend["correlation_frequency_spend"] <= 1


@needs_cdnow
def test_pareto_nbd_holdout(cdnow_ws):
    res = clv(cdnow_ws, model="pareto", calibration_end="1997-09-30", as_of="1998-06-30")
    p = res.extra["params"]
    for name, published in (("r", 0.553), ("alpha", 10.578), ("s", 0.606)):
        assert abs(p[name] - published) <= 0.0005, (name, p[name])
    assert abs(p["beta"] - 11.669) <= 0.001 * 11.669
    assert abs(res.extra["log_likelihood"] - (-9595.0)) <= 0.05
    hold = res.extra["holdout"]
    zero = next(r for r in hold["by_calibration_frequency"] if r["frequency"] == "0")
    assert abs(zero["model"] - 0.138) <= 0.005
    assert abs(hold["correlation_model"] - 0.630) <= 0.002
    assert abs(hold["cumulative_error_at_end"] - (-0.016)) <= 0.003


@needs_cdnow
def test_clv_json_has_the_contract_keys_and_no_nan(cdnow_ws):
    res = clv(cdnow_ws, time_unit="day", horizon=365)
    out = json.loads(json.dumps(res.to_dict()))
    for key in ("params", "log_likelihood", "converged", "model", "time_unit"):
        assert key in out
    row = out["rows"][0]
    for key in ("person_id", "p_alive", "expected_purchases", "expected_spend", "clv"):
        assert key in row
    assert all(
        v is not None for r in out["rows"] for v in (r["p_alive"], r["clv"], r["expected_spend"])
    )
    # rows are sorted by value, and value follows purchases expected
    vals = [r["clv"] for r in out["rows"]]
    assert vals == sorted(vals, reverse=True)
    m = out["matrices"]
    assert m["columns"] == "days since last purchase" and len(m["p_alive"]) == len(m["frequency"])
    # P(alive) falls with time since the last purchase for a repeat buyer
    row3 = [v for v in m["p_alive"][3] if v is not None]
    assert row3 == sorted(row3, reverse=True) and row3[0] > row3[-1]


def _ws_with(tmp_path: Path, rows: list[tuple[str, str, float]], name: str = "w"):
    ws = open_workspace(tmp_path / f"{name}.duckdb")
    [rep] = ws.import_files([_outcomes_csv(tmp_path / f"{name}.csv", rows)])
    assert rep.status == "ok", rep.message
    return ws


def _assert_clean(res) -> None:
    for r in res.rows:
        for k in ("p_alive", "expected_purchases", "expected_spend", "clv"):
            v = r[k]
            assert v is not None and math.isfinite(v), (k, r)
            assert v >= 0


def test_bad_input_single_customer(tmp_path):
    ws = _ws_with(tmp_path, [("a", "2024-01-01", 10.0), ("a", "2024-02-01", 20.0)])
    try:
        res = clv(ws)
        _assert_clean(res)
    except TruefansError as e:
        assert "customer" in str(e) or "repeat" in str(e)


def test_bad_input_no_repeaters_is_a_clear_message(tmp_path):
    rows = [(f"p{i}", f"2024-0{1 + i % 9}-1{i % 9}", 10.0 + i) for i in range(40)]
    ws = _ws_with(tmp_path, rows)
    with pytest.raises(TruefansError, match="repeat purchase"):
        clv(ws)
    runner = CliRunner()
    out = runner.invoke(app, ["--workspace", str(ws.path), "clv"])
    assert out.exit_code != 0 and "repeat purchase" in out.output and "Traceback" not in out.output


def test_bad_input_identical_customers_and_t_equals_T(tmp_path):
    # everyone bought on the same two days: x = 1, t_x = T for all (the last day is the end)
    rows = [(f"p{i}", d, 25.0) for i in range(30) for d in ("2024-01-01", "2024-03-01")]
    ws = _ws_with(tmp_path, rows)
    try:
        res = clv(ws)
        _assert_clean(res)
    except TruefansError as e:
        assert str(e)


def test_bad_input_zero_negative_spend_and_T_zero(tmp_path):
    rows = [(f"p{i}", "2024-01-05", 30.0) for i in range(20)]
    rows += [(f"p{i}", "2024-02-05", 35.0) for i in range(10)]
    rows += [("late", "2024-06-30", 50.0)]  # first purchase on the last day: T = 0
    # free orders are still purchases (CDNOW has $0 ones); a negative order is not
    rows += [("zero", "2024-01-05", 0.0), ("zero", "2024-03-01", 0.0)]
    rows += [("neg", "2024-01-05", -15.0), ("neg", "2024-03-01", -15.0)]
    ws = _ws_with(tmp_path, rows)
    ws.con.execute(
        "INSERT INTO outcomes (outcome_id, person_id, ts, type, value, currency) VALUES "
        "('r1', 'p1', TIMESTAMP '2024-03-01 10:00', 'refund', -20, 'USD')"
    )
    res = clv(ws)
    _assert_clean(res)
    t = res.table.set_index("person_id")
    assert "neg" not in t.index
    assert t.loc["zero", "frequency"] == 1 and t.loc["zero", "mean_spend"] == 0
    assert t.loc["late", "T"] == 0 and t.loc["late", "frequency"] == 0
    assert t.loc["p1", "frequency"] == 1  # the refund is not a purchase


def test_options_are_checked(tmp_path):
    ws = _ws_with(tmp_path, [("a", "2024-01-01", 10.0)])
    for kw in (
        {"model": "magic"},
        {"time_unit": "fortnight"},
        {"horizon": -1},
        {"margin": 0},
        {"calibration_end": "2030-01-01"},
        {"calibration_end": "not a date"},
    ):
        with pytest.raises(TruefansError):
            clv(ws, **kw)


DONATIONS = CDNOW.parent / "bgbb_donations" / "donations.csv"


@pytest.mark.skipif(not DONATIONS.exists(), reason="shared donations data not present")
def test_bgbb_on_donations_through_the_import_path(tmp_path):
    """Fader, Hardie & Shang (2010): 11,104 donors of 1995 observed 1996-2001; every (x, t_x)
    pattern is rebuilt as yearly donations and imported, then fitted by `clv --model bgbb`."""
    patterns = pd.read_csv(DONATIONS)
    rows = []
    donor = 0
    for r in patterns.itertuples():
        for _ in range(int(r.weights)):
            donor += 1
            who = f"d{donor:05d}"
            rows.append((who, "1995-06-01", 50.0))
            last = 1995 + int(r.recency)
            for year in range(last - int(r.frequency) + 1, last + 1):
                rows.append((who, f"{year}-06-01", 50.0))
    assert donor == 11_104
    ws = _ws_with(tmp_path, rows, "donations")
    res = clv(ws, model="bgbb", period="year", as_of="2001-12-31")
    p = res.extra["params"]
    for name, published in (("alpha", 1.204), ("beta", 0.750), ("gamma", 0.657), ("delta", 2.783)):
        assert abs(p[name] - published) <= 0.001, (name, p[name])
    assert res.extra["customers"] == 11_104 and res.extra["converged"]
    assert set(res.table["opportunities"]) == {6}
    _assert_clean(res)
    # a holdout: fit on 1995-1998, check 1999-2001
    hold = clv(ws, model="bgbb", period="year", calibration_end="1998-12-31", as_of="2001-12-31")
    h = hold.extra["holdout"]
    assert h["length"] == 3 and h["actual_total"] > 0
    assert abs(h["model_total"] - h["actual_total"]) / h["actual_total"] < 0.15


RETENTION = CDNOW.parent / "sbg_retention" / "retention_curves.csv"


@pytest.mark.skipif(not RETENTION.exists(), reason="shared retention data not present")
def test_sbg_on_the_published_curves_through_the_import_path(tmp_path):
    """Fader & Hardie (2007): 1,000 customers of a cohort, years 0-7 (the calibration years).
    Each customer renews yearly while the curve says they are alive; fitted by `clv --model sbg`."""
    curves = pd.read_csv(RETENTION)
    for column, published in (
        ("pct_alive_regular", (0.704, 1.182)),
        ("pct_alive_highend", (0.668, 3.806)),
    ):
        alive = [round(p * 10) for p in curves[column][:8]]
        rows = []
        for i in range(alive[0]):
            years = sum(1 for a in alive if a > i)  # customer i pays while i < alive[t]
            rows += [(f"s{i:04d}", f"{2000 + y}-03-01", 100.0) for y in range(years)]
        ws = _ws_with(tmp_path, rows, column)
        ws.con.execute("UPDATE outcomes SET type = 'subscription'")
        res = clv(ws, model="sbg", period="year", as_of="2008-06-30")
        p = res.extra["params"]
        assert abs(p["alpha"] - published[0]) <= 0.001 and abs(p["beta"] - published[1]) <= 0.001
        assert res.extra["subscribers"] == 1000 and res.extra["converged"]
        active = res.table[res.table["active"]]
        assert len(active) == alive[7] and (active["clv"] > 0).all()
        assert (res.table.loc[~res.table["active"], "clv"] == 0).all()
        # the expected remaining payments grow with tenure (the survivors are the loyal ones)
        _assert_clean(res)


def test_sbg_cohorts_recover_known_parameters(tmp_path):
    """Monthly subscribers starting over two years, churn drawn from Beta(1.2, 4.0)."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(3000):
        start = int(rng.integers(0, 24))
        theta = rng.beta(1.2, 4.0)
        months = 1 + int(rng.geometric(theta)) - 1  # paid months before cancelling (>= 1)
        for m in range(start, min(start + months, 30)):
            year, month = 2022 + m // 12, m % 12 + 1
            rows.append((f"m{i:05d}", f"{year}-{month:02d}-10", 20.0))
    ws = _ws_with(tmp_path, rows, "monthly")
    ws.con.execute("UPDATE outcomes SET type = 'subscription'")
    res = clv(ws, model="sbg", period="month", as_of="2024-06-30")
    p = res.extra["params"]
    assert abs(p["alpha"] - 1.2) < 0.25 and abs(p["beta"] - 4.0) < 0.8, p
    assert res.extra["cohorts"] >= 24
    _assert_clean(res)
