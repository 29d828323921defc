"""provider_regressions against the generator's injected events, over several seeds.

    .venv/bin/python benchmarks/detection.py [--seeds 1 2 3 4 5] [--days 180] [--rpd 1500]

For each seed: generate traffic WITH the scenario's regression events, ingest it, build
provider_metrics_daily + provider_regressions over every day, and score the distinct changes
against truth.json (gatewaylens.regressions.score_against_truth: precision, recall over the
events' pair-metrics and pairs, onset error, detection delay, attribution). Then the same seed
WITHOUT events (clean traffic): every change found is a false alarm; reported per 1,000 pair-days
and per 1,000 scored pair-metric-days (days with enough observations and a baseline: the unit of
the stated false-alarm rate, default 1 per 1,000), with a Poisson 95% interval over the seeds.
Prints one line per seed and the totals (a markdown table for docs/benchmarks.md), and the
changes that match no event by metric and by attribution (where false positives come from).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from gatewaylens import db as dbmod
from gatewaylens import marts
from gatewaylens.config import mart_settings
from gatewaylens.generator import generate
from gatewaylens.ingest import ingest_paths
from scipy import stats

from gatewaylens.regressions import distinct_changes, score_against_truth, scored_pair_metric_days

START = dt.date(2025, 1, 6)


def build(root: Path, days: int, rpd: int, seed: int, events: bool):
    landing = root / ("events" if events else "clean")
    res = generate(days, rpd, seed, landing, start=START, events=events)
    truth = json.loads(res.truth_path.read_text())
    con = dbmod.connect(root / f"{landing.name}.duckdb")
    ingest_paths(con, [landing], salt="bench")
    d = marts.days_with_requests(con)
    t0 = time.perf_counter()
    for name in ("provider_metrics_daily", "provider_regressions"):
        marts.build_mart(con, name, d[0], d[-1])
    seconds = time.perf_counter() - t0
    return con, truth, seconds


def f(x, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--rpd", type=int, default=1500)
    ap.add_argument("--tolerance", type=int, default=7, help="onset tolerance, days")
    args = ap.parse_args()
    rate = mart_settings().regression_false_alarm_rate
    print(f"# {args.days} days x {args.rpd} requests/day, seeds {args.seeds}, onset tolerance {args.tolerance} d, "
          f"stated false-alarm rate {rate} per pair-metric-day")
    header = ("| seed | changes | precision | recall (pair-metric) | recall (pair) | onset error mean / max (d) | "
              "delay mean (d) | attribution correct | clean: false alarms | per 1,000 pair-days | per 1,000 pair-metric-days | build s |")
    print(header)
    print("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")
    tot = {"changes": 0, "tp": 0, "fa": 0, "pair_days": 0, "pm_days": 0, "fa_by_metric": {}, "fp_by_metric": {},
           "fp_by_attribution": {}, "by_attribution": {}, "fa_by_attribution": {}}
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            con, truth, secs = build(root, args.days, args.rpd, seed, events=True)
            s = score_against_truth(distinct_changes(con), truth["regression_events"], args.tolerance)
            con.close()
            clean, _, _ = build(root, args.days, args.rpd, seed, events=False)
            clean_changes = distinct_changes(clean)
            fa = clean_changes.height
            for key, counts in (("fa_by_metric", clean_changes["metric"].to_list()),
                                ("fa_by_attribution", clean_changes["attribution"].to_list())):
                for m in counts:
                    tot[key][m] = tot[key].get(m, 0) + 1
            for key, src in (("fp_by_metric", "false_by_metric"), ("fp_by_attribution", "false_by_attribution"),
                             ("by_attribution", "by_attribution")):
                for m, n in s[src].items():
                    tot[key][m] = tot[key].get(m, 0) + n
            pair_days = clean.sql("SELECT count(*) FROM provider_metrics_daily").fetchall()[0][0]
            tested = scored_pair_metric_days(clean)
            clean.close()
        print(f"| {seed} | {s['changes']} | {f(s['precision'])} | {f(s['recall_pair_metric'])} | {f(s['recall_pair'])} | "
              f"{f(s['onset_error_days_mean'], '{:.1f}')} / {f(s['onset_error_days_max'], '{}')} | "
              f"{f(s['detection_delay_days_mean'], '{:.1f}')} | {f(s['attribution_correct'])} | {fa} | "
              f"{1000 * fa / pair_days:.2f} | {1000 * fa / tested:.2f} | {secs:.1f} |", flush=True)
        tot["changes"] += s["changes"]
        tot["tp"] += s["true_positives"]
        tot["fa"] += fa
        tot["pair_days"] += pair_days
        tot["pm_days"] += tested
        tot.setdefault("recall_pm", []).append(s["recall_pair_metric"] or 0.0)
        tot.setdefault("recall_p", []).append(s["recall_pair"] or 0.0)
        if s["onset_error_days_mean"] is not None:
            tot.setdefault("onset", []).append(s["onset_error_days_mean"])
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    print(f"\nmean over seeds: recall (pair-metric) {mean(tot.get('recall_pm', [])):.2f}, recall (pair) "
          f"{mean(tot.get('recall_p', [])):.2f}, onset error {mean(tot.get('onset', [])):.1f} d")
    lo, hi = (stats.chi2.ppf(0.025, 2 * tot["fa"]) / 2 if tot["fa"] else 0.0), stats.chi2.ppf(0.975, 2 * tot["fa"] + 2) / 2
    per = 1000 / tot["pm_days"]
    print(f"total: precision {tot['tp'] / max(tot['changes'], 1):.2f} ({tot['tp']}/{tot['changes']}); clean traffic: "
          f"{tot['fa']} false alarms = {1000 * tot['fa'] / tot['pair_days']:.2f} per 1,000 pair-days, "
          f"{tot['fa'] * per:.2f} per 1,000 scored pair-metric-days (95% {lo * per:.2f}-{hi * per:.2f}; "
          f"stated: {1000 * rate:.2f}; {tot['pm_days']} pair-metric-days)")
    prec = {a: 1 - tot["fp_by_attribution"].get(a, 0) / n for a, n in tot["by_attribution"].items()}
    print(f"changes by attribution (with events): {dict(sorted(tot['by_attribution'].items()))}, precision by attribution "
          f"{ {a: round(p, 2) for a, p in sorted(prec.items())} }")
    print(f"changes not matching an event, by metric (with events): {dict(sorted(tot['fp_by_metric'].items()))}; "
          f"by attribution: {dict(sorted(tot['fp_by_attribution'].items()))}")
    print(f"false alarms on clean traffic, by metric: {dict(sorted(tot['fa_by_metric'].items()))}; "
          f"by attribution: {dict(sorted(tot['fa_by_attribution'].items()))}")


if __name__ == "__main__":
    main()
