"""provider_variance flags exactly truth.json's degraded pairs; the statistics behave."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths
from gatewaylens.stats import holm, score_model, two_proportion_p, wilson_interval

START = dt.date(2025, 3, 1)
DAYS, RPD = 21, 2500
VARIANCE_MARTS = ["provider_variance_daily", "provider_variance", "provider_ranking"]


@pytest.fixture(scope="module", params=[2, 3], ids=lambda s: f"seed{s}")
def built(request, tmp_path_factory):
    """21 days x 2500 requests/day: the last 7-day window holds ~600 requests of each degraded pair."""
    root = tmp_path_factory.mktemp(f"var{request.param}")
    res = generate(DAYS, RPD, request.param, root / "landing", start=START)
    con = dbmod.connect(root / "wh.duckdb")
    ingest_paths(con, [root / "landing"], salt="test")
    for name in VARIANCE_MARTS:
        marts.build_mart(con, name, START, START + dt.timedelta(days=DAYS - 1))
    yield con, json.loads(res.truth_path.read_text())
    con.close()


def _set(con, column: str, day: dt.date) -> set[tuple[str, str]]:
    assert column in ("flagged", "error_flagged")
    return {tuple(r) for r in con.execute(
        f"SELECT model, provider FROM provider_variance WHERE day = ? AND {column}", [day]).fetchall()}


def test_flagged_equals_truth_degraded_pairs(built) -> None:
    con, truth = built
    degraded = {(d["model"], d["provider"]) for d in truth["degraded_pairs"]}
    assert len(degraded) == 2
    last = START + dt.timedelta(days=DAYS - 1)
    assert _set(con, "flagged", last) == degraded  # precision and recall 1 (tool-call rate)
    assert _set(con, "error_flagged", last) == degraded  # the error-rate test agrees
    # the degraded pairs are flagged because they call tools LESS often than the model elsewhere
    rows = con.execute("SELECT rate_delta, error_rate_delta FROM provider_variance WHERE day = ? AND flagged", [last]).fetchall()
    assert all(r[0] < -0.05 and r[1] > 0.02 for r in rows)


def test_ranking_recommends_healthy_providers_only(built) -> None:
    con, truth = built
    degraded = {(d["model"], d["provider"]) for d in truth["degraded_pairs"]}
    last = START + dt.timedelta(days=DAYS - 1)
    rows = con.execute("SELECT model, provider, rank, recommended, providers_of_model FROM provider_ranking WHERE day = ?",
                       [last]).fetchall()
    for model, provider, rank, recommended, n in rows:
        if (model, provider) in degraded:
            assert not recommended and rank == n  # ranked last among the model's providers
    for d in truth["degraded_pairs"]:
        pool = {p for m, p, _, rec, _ in rows if m == d["model"] and rec}
        assert pool == set(d["healthy_providers"])


# --- the statistics themselves ------------------------------------------------------------

def test_two_proportion_p_matches_formula() -> None:
    x1, n1, x2, n2 = 30, 200, 60, 250
    p = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    assert two_proportion_p(x1, n1, x2, n2) == pytest.approx(2 * norm.sf(abs(z)), rel=1e-12)
    assert two_proportion_p(0, 10, 0, 20) == 1.0


def test_wilson_is_the_score_test_inversion() -> None:
    """Wilson bounds are the p where |phat - p| = z * sqrt(p (1 - p) / n): solve the quadratic independently."""
    z = norm.ppf(0.975)
    for x, n in [(81, 263), (3, 40), (500, 1000), (1, 7)]:
        ph = x / n
        a, b, c = 1 + z * z / n, -(2 * ph + z * z / n), ph * ph
        roots = sorted(np.roots([a, b, c]).real)
        assert wilson_interval(x, n) == pytest.approx(tuple(roots), abs=1e-12)
    lo0, hi0 = wilson_interval(0, 50)
    assert lo0 == pytest.approx(0.0, abs=1e-12) and 0 < hi0 < 0.1


def test_holm_step_down() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # capped at 1, monotone


def test_outlier_excluded_from_reference() -> None:
    """One degraded provider must not make its healthy peers look anomalous."""
    providers = ["a", "b", "c", "d"]
    x, n = [300, 300, 300, 150], [1000, 1000, 1000, 1000]
    scores = {s.provider: s for s in score_model(providers, x, n, alpha=0.05, threshold=0.02, min_n=30)}
    assert scores["d"].reference == ["a", "b", "c"] and scores["d"].delta == pytest.approx(-0.15)
    for p in "abc":
        assert "d" not in scores[p].reference and scores[p].delta == pytest.approx(0.0)
    # naive leave-one-out would have compared a with (b, c, d): 0.30 vs 0.25, clearly "significant"
    assert two_proportion_p(300, 1000, 750, 3000) < 0.01


def test_two_providers_no_majority() -> None:
    scores = score_model(["a", "b"], [300, 150], [1000, 1000], alpha=0.05, threshold=0.02, min_n=30)
    assert [s.reference for s in scores] == [["b"], ["a"]]


def test_small_samples_get_no_p_value() -> None:
    scores = score_model(["a", "b", "c"], [1, 5, 5], [10, 100, 100], alpha=0.05, threshold=0.02, min_n=30)
    assert scores[0].p_value is None and scores[1].p_value is not None
