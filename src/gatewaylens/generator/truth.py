"""``truth.json``: every injected parameter and the rates the generated data should show.

Definitions (also written into the file under ``definition``):

* ``tool_call_rate`` (expected) = mean over the month's *successful* requests of the injected
  per-request P(finish_reason = 'tool_calls'). ``tool_call_rate_realized`` = the share actually
  drawn. A mart computing count(finish_reason='tool_calls') / count(status='success') should
  match the expected value within sampling noise.
* ``reasoning_share`` = sum(reasoning_tokens) / sum(output_tokens) over successful requests
  whose ``reasoning_tokens`` is not NULL (models reporting 'yes' or 'zero'); expected (before
  rounding to whole tokens) and realized agree to ~1e-4.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from gatewaylens.catalog import CATALOG_PATH, load_catalog
from gatewaylens.generator import scenario as sc
from gatewaylens.generator.usage import usage_dict

if TYPE_CHECKING:
    from gatewaylens.generator.simulate import Simulation

DEFINITION = {
    "tool_call_rate": "expected: mean over successful requests of the injected per-request P(finish_reason='tool_calls'); "
    "tool_call_rate_realized = count(finish_reason='tool_calls') / count(status='success')",
    "reasoning_share": "sum(reasoning_tokens) / sum(output_tokens) over successful requests with reasoning_tokens NOT NULL "
    "(expected = before rounding to whole tokens; realized = in the files)",
    "degraded tool_call_rate_delta": "healthy-provider rate of the model (mean injected P over its successful requests at "
    "non-degraded providers in the window) * (1 - tool_call_multiplier); windows = first, middle and last 7 days",
    "regression_events": "serving changes injected from onset_day on (none when the period is shorter than "
    f"{sc.EVENTS_MIN_DAYS} days or events are off); 'metrics' = the provider_regressions metrics each moves by design",
    "detectability": "two-proportion z (pooled) for degraded pair vs the model's healthy providers, 7 days at 500 requests/day "
    "in total, using the realized traffic shares",
}


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _windows(days: int) -> dict[str, tuple[int, int]]:
    w = min(7, days)
    mid = max(0, days // 2 - w // 2)
    return {"start": (0, w), "mid": (mid, mid + w), "end": (days - w, days)}


def _z(p1: float, n1: float, p2: float, n2: float) -> float:
    if n1 <= 0 or n2 <= 0:
        return 0.0
    pb = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(max(pb * (1 - pb), 1e-12) * (1 / n1 + 1 / n2))
    return round(abs(p1 - p2) / se, 2)


def regression_events(sim: "Simulation") -> list[dict]:
    """The injected serving changes: one entry per event with its (model, provider) pairs, onset
    day, the metrics it moves by design and the attribution a detector should give it
    ('provider' for a change on some providers of the model, 'model' for all of them)."""
    return [
        {
            "name": e.name,
            "model": e.model,
            "providers": list(e.providers or sc.MODELS[e.model].providers),
            "onset_day": sim.dates[onset].isoformat(),
            "metrics": list(e.metrics),
            "attribution": "provider" if e.providers else "model",
            "tool_call_multiplier": e.tool_call_multiplier,
            "error_rate_delta": e.error_rate_delta,
            "latency_multiplier": e.latency_multiplier,
            "output_tokens_multiplier": e.output_tokens_multiplier,
        }
        for e, onset in sim.event_onsets
    ]


def build_truth(sim: "Simulation") -> dict:
    t, acc = sim.t, sim.acc
    midx = {m: i for i, m in enumerate(t.models)}
    pidx = {p: i for i, p in enumerate(t.providers)}
    months: dict[str, list[int]] = {}
    for i, d in enumerate(sim.dates):
        months.setdefault(d.strftime("%Y-%m"), []).append(i)

    def rate(num: np.ndarray, den: np.ndarray, idx) -> float | None:
        d = float(den[idx].sum())
        return round(float(num[idx].sum()) / d, 6) if d else None

    monthly = []
    for month, idx in months.items():
        ix = np.array(idx)
        monthly.append(
            {
                "month": month,
                "days": len(idx),
                "requests": int(acc["n"][ix].sum()),
                "successful_requests": int(acc["success"][ix].sum()),
                "tool_call_rate": rate(acc["p_sum"], acc["success"], ix),
                "tool_call_rate_realized": rate(acc["tool_calls"], acc["success"], ix),
                "reasoning_share": rate(acc["reason_exp"], acc["out_reporting"] - acc["reason_real"] + acc["reason_exp"], ix),
                "reasoning_share_realized": rate(acc["reason_real"], acc["out_reporting"], ix),
            }
        )
    daily = [
        {
            "day": d.isoformat(),
            "requests": int(acc["n"][i]),
            "tool_call_rate": rate(acc["p_sum"], acc["success"], [i]),
            "reasoning_share_realized": rate(acc["reason_real"], acc["out_reporting"], [i]),
        }
        for i, d in enumerate(sim.dates)
    ]

    total = acc["pair_n"].sum()
    model_n = acc["pair_n"].sum(axis=(0, 2))
    wins = _windows(sim.days)
    degraded = []
    for dp in sc.DEGRADED_PAIRS:
        i, j = midx[dp.model], pidx[dp.provider]
        healthy_cols = [pidx[p] for p in sc.MODELS[dp.model].providers if t.tool_mult[i, pidx[p]] == 1.0]
        share_model = float(acc["pair_n"][:, i, j].sum() / max(model_n[i], 1))
        share_total = float(model_n[i] / max(total, 1))
        rates, deltas, z_tool, z_err = {}, {}, {}, {}
        n_week = 7 * 500 * share_total
        n_d, n_h = n_week * share_model, n_week * (1 - share_model)
        err_h = sc.BASE_ERROR_RATE
        err_d = sc.BASE_ERROR_RATE + dp.error_rate_delta
        for name, (a, b) in wins.items():
            hn = acc["healthy_n"][a:b, i].sum()
            r = float(acc["healthy_p"][a:b, i].sum() / hn) if hn else 0.0
            rates[name] = round(r, 6)
            deltas[name] = round(r * (1 - dp.tool_call_multiplier), 6)
            z_tool[name] = _z(r, n_h * (1 - err_h), r * dp.tool_call_multiplier, n_d * (1 - err_d))
            z_err[name] = _z(err_h, n_h, err_d, n_d)
        degraded.append(
            {
                "model": dp.model,
                "provider": dp.provider,
                "healthy_providers": [t.providers[c] for c in healthy_cols],
                "tool_call_multiplier": dp.tool_call_multiplier,
                "model_tool_call_rate": rates,
                "tool_call_rate_delta": deltas,
                "error_rate_delta": dp.error_rate_delta,
                "error_rate": {"degraded": round(err_d, 6), "healthy": round(err_h, 6)},
                "latency_multiplier": dp.latency_multiplier,
                "traffic_share_of_model": round(share_model, 4),
                "model_share_of_all_requests": round(share_total, 4),
                "detectability_7d_500rpd": {"tool_call_z": z_tool, "error_z": z_err},
            }
        )

    outages = [
        {
            "provider": o.provider,
            "start": _iso(s),
            "end": _iso(e),
            "failover_to": o.failover_to,
            "http_status": 503,
            "requests_failed_over": int(acc["outage_requests"][k]),
        }
        for k, (o, _di, s, e) in enumerate(sim.outages)
    ]
    multi = {m: list(b.providers) for m, b in sc.MODELS.items() if len(b.providers) >= 2}
    catalog = load_catalog(CATALOG_PATH, use_env=False).filter(
        pl.col("model").is_in(t.models)
    ).to_dicts()
    n_all = float(acc["n"].sum())
    return {
        "generator": "gatewaylens.generator",
        "seed": sim.seed,
        "run_tag": sim.run_tag,
        "start": sim.start.isoformat(),
        "end": sim.dates[-1].isoformat(),
        "days": sim.days,
        "requests_per_day": sim.rpd,
        "total_requests": int(n_all),
        "definition": DEFINITION,
        "curves": {
            "shape": f"logistic S-curve over the period, steepness {sc.CURVE_STEEPNESS}, rescaled to hit start/end; "
            "day position = day_index / (days - 1)",
            "tool_call_rate": {"start": sc.TOOL_CALL_RATE_START, "end": sc.TOOL_CALL_RATE_END},
            "reasoning_share": {"start": sc.REASONING_SHARE_START, "end": sc.REASONING_SHARE_END},
        },
        "monthly": monthly,
        "daily": daily,
        "degraded_pairs": degraded,
        "healthy_pairs_identical": "non-degraded providers of a model share identical tool-call and error probabilities "
        "(provider choice is independent of app, role and time)",
        "multi_provider_models": multi,
        "outages": outages,
        "regression_events": regression_events(sim),
        "traffic_spikes": [
            {"app": sp.app, "start_day": sim.dates[d0].isoformat(), "end_day": sim.dates[d1 - 1].isoformat(),
             "multiplier": sp.multiplier, "extra_requests": int(sim.spike_counts[d0:d1].sum())}
            for sp, d0, d1 in sim.spikes
        ],
        "batch_window": {
            "start_hour": sc.BATCH_WINDOW[0],
            "end_hour": sc.BATCH_WINDOW[1],
            "apps": [a.name for a in sc.APPS if a.batch],
            "share_of_requests": round(float(acc["batch_window"].sum()) / n_all, 6) if n_all else 0.0,
        },
        "weekly": {"weekend_factor_interactive": sc.WEEKEND_FACTOR},
        "cost_not_logged_apps": [a.name for a in sc.APPS if not a.cost_logged],
        "reasoning_reporting": {
            r: [m["model"] for m in catalog if m["reports_reasoning"] == r] for r in ("yes", "zero", "no")
        },
        "catalog": catalog,
        "scenario": sc.scenario_dict(),
        "usage": usage_dict(),
        "model_substitutions": {
            "definition": "requests whose model_requested (the slug asked for) differs from model (the slug "
            "served): the model fallbacks of usage.fallbacks; every other request asked for the model that served it",
            "requests": int(sum(sim.substitutions.values())),
            "share_of_requests": round(sum(sim.substitutions.values()) / n_all, 6) if n_all else 0.0,
            "by_day": [{"day": d, "app": a, "model_requested": r, "model": m, "requests": c}
                       for (d, a, r, m), c in sorted(sim.substitutions.items())],
        },
        "bad_lines": {},
        "duplicate_lines": 0,
    }
