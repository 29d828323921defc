"""Vectorised traffic simulation: one row per gateway request, independent of any file format.

:func:`simulate` returns the whole period as one polars frame plus the truth dict;
:class:`Simulation` yields it month by month (what the writers use, to bound memory).

Frame grain: one row per request, sorted by ``ts``. Columns (canonical names and meanings, see
``gatewaylens.schema.CanonicalLine``): ``request_id, ts`` (Datetime ms UTC), ``day`` (Date),
``app, user, model, provider, status, http_status, error_type, finish_reason,
native_finish_reason, tools_offered, tool_call_count, input_tokens, cached_tokens,
output_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms, streamed, attempts`` (list of
struct{provider, http_status, latency_ms, ts}), ``tool_call_probability`` (the injected
per-request P(finish_reason = tool_calls); 0 for errors), ``session_id``, ``cache_write_tokens``
and ``model_requested`` (the slug the app asked for: ``model`` unless a model fallback served it,
see :data:`usage.FALLBACKS`).

Determinism: every random draw comes from ``numpy.random.default_rng([seed, month_index])``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from gatewaylens.catalog import CATALOG_PATH, PRICE_COLUMNS, load_catalog
from gatewaylens.generator import scenario as sc
from gatewaylens.generator import usage as us

BILLED_PRICES_PATH = CATALOG_PATH.with_name("generator_billed_prices.csv")
CACHE_WRITE_PRICE = "cache_write_usd_per_mtok"  # a column of BILLED_PRICES_PATH only (empty: billed at the input price)

EPOCH = dt.date(1970, 1, 1)
MS_PER_DAY = 86_400_000
MS_PER_HOUR = 3_600_000

FINISH = ("stop", "tool_calls", "length", "content_filter", "error")
F_STOP, F_TOOL, F_LENGTH, F_FILTER, F_ERROR = range(5)
NATIVE_FINISH = {
    "anthropic": ("end_turn", "tool_use", "max_tokens", "refusal", None),
    "google": ("STOP", "STOP", "MAX_TOKENS", "SAFETY", None),
    "openai": ("stop", "tool_calls", "length", "content_filter", None),
}


def curve(t: np.ndarray | float, start: float, end: float, steepness: float = sc.CURVE_STEEPNESS) -> np.ndarray:
    """Logistic S-curve from ``start`` (t=0) to ``end`` (t=1), t = position in the period."""
    t = np.asarray(t, dtype=float)
    lo, hi = 1 / (1 + math.exp(steepness / 2)), 1 / (1 + math.exp(-steepness / 2))
    s = (1 / (1 + np.exp(-steepness * (t - 0.5))) - lo) / (hi - lo)
    return start + (end - start) * s


def default_start(days: int, today: dt.date | None = None) -> dt.date:
    """Start date such that the last generated day is yesterday (UTC)."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return today - dt.timedelta(days=days)


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    raw = weights / weights.sum() * total
    base = np.floor(raw).astype(np.int64)
    short = total - int(base.sum())
    if short:
        order = np.argsort(-(raw - base), kind="stable")[:short]
        base[order] += 1
    return base


@dataclass
class _Tables:
    """Lookup arrays indexed by integer codes (model, provider, app, role, slot)."""

    models: list[str]
    providers: list[str]
    apps: list[str]
    roles: list[str]
    tier: list[str]
    reports: np.ndarray  # model -> 0 yes, 1 zero, 2 no
    vendor_style: list[str]  # model -> key of NATIVE_FINISH
    price_in: np.ndarray
    price_cache_write: np.ndarray
    price_out: np.ndarray
    price_cached: np.ndarray
    reasoning_b: np.ndarray
    ttft: np.ndarray
    tps: np.ndarray
    in_mult: np.ndarray
    out_mult: np.ndarray
    prov_codes: np.ndarray  # (model, k) provider code, -1 pad
    prov_cdf: np.ndarray  # (model, k) cumulative share, 2.0 pad
    backup: np.ndarray  # (model, provider) -> provider code used for ordinary failover
    tool_mult: np.ndarray  # (model, provider)
    err_delta: np.ndarray  # (model, provider)
    lat_mult: np.ndarray  # (model, provider)
    cache_reports: np.ndarray  # provider -> bool
    cache_writes: np.ndarray  # provider -> bool (explicit cache writes, usage.CACHE_WRITE_PROVIDERS)
    app_session_len: np.ndarray  # app -> most requests per session, 0 = no session ids (usage.SESSION_APPS)
    slot_app: np.ndarray
    slot_role: np.ndarray
    slot_model: np.ndarray
    batch_slots: np.ndarray
    batch_cdf: np.ndarray
    inter_slots: np.ndarray
    inter_cdf: np.ndarray
    app_offered_p: np.ndarray  # nan = absent
    app_stream_p: np.ndarray
    app_cost_logged: np.ndarray
    app_users: np.ndarray
    app_user_offset: np.ndarray
    app_cache: np.ndarray
    role_factor: np.ndarray
    role_in: np.ndarray
    role_out: np.ndarray
    hour_cdf: np.ndarray


def _build_tables() -> _Tables:
    # what the simulated gateways bill: the generator's own price list (data/generator_billed_prices.csv),
    # not the catalog's list prices, so output is reproducible whatever genai-prices says
    cat = load_catalog(CATALOG_PATH, use_env=False, prices=False).drop(PRICE_COLUMNS).join(
        pl.read_csv(BILLED_PRICES_PATH, schema_overrides={c: pl.Float64() for c in [*PRICE_COLUMNS, CACHE_WRITE_PRICE]}),
        on="model", how="left")
    models = list(sc.MODELS)
    missing = set(models) - set(cat["model"].to_list())
    if missing:
        raise ValueError(f"generator models missing from the catalog: {sorted(missing)}")
    crow = {r["model"]: r for r in cat.iter_rows(named=True)}
    providers = sorted({p for b in sc.MODELS.values() for p in b.providers})
    pidx = {p: i for i, p in enumerate(providers)}
    midx = {m: i for i, m in enumerate(models)}
    apps = [a.name for a in sc.APPS]
    roles = list(sc.ROLE_TOOL_FACTOR)
    nm, npv = len(models), len(providers)
    k = max(len(b.providers) for b in sc.MODELS.values())
    prov_codes = np.full((nm, k), -1, dtype=np.int64)
    prov_cdf = np.full((nm, k), 2.0)
    tool_mult = np.ones((nm, npv))
    err_delta = np.zeros((nm, npv))
    lat_mult = np.ones((nm, npv))
    for d in sc.DEGRADED_PAIRS:
        i, j = midx[d.model], pidx[d.provider]
        tool_mult[i, j], err_delta[i, j], lat_mult[i, j] = d.tool_call_multiplier, d.error_rate_delta, d.latency_multiplier
    backup = np.full((nm, npv), -1, dtype=np.int64)
    for m, b in sc.MODELS.items():
        i = midx[m]
        names = list(b.providers)
        shares = np.array([b.providers[p] for p in names])
        prov_codes[i, : len(names)] = [pidx[p] for p in names]
        prov_cdf[i, : len(names)] = np.cumsum(shares / shares.sum())
        prov_cdf[i, len(names) - 1] = 1.0
        healthy = [p for p in names if tool_mult[i, pidx[p]] == 1.0]
        for p in names:
            alt = [q for q in healthy if q != p]
            backup[i, pidx[p]] = pidx[alt[0]]
    for o in sc.OUTAGES:
        for m, b in sc.MODELS.items():
            if o.provider in b.providers and o.failover_to not in b.providers:
                raise ValueError(f"outage failover {o.failover_to} does not serve {m}")
    slot_app, slot_role, slot_model, slot_w, slot_batch = [], [], [], [], []
    for ai, a in enumerate(sc.APPS):
        for r in a.roles:
            tot = sum(r.models.values())
            for m, w in r.models.items():
                slot_app.append(ai)
                slot_role.append(roles.index(r.role))
                slot_model.append(midx[m])
                slot_w.append(a.share * r.share * w / tot)
                slot_batch.append(a.batch)
    slot_w_a = np.array(slot_w)
    slot_batch_a = np.array(slot_batch)
    batch_slots = np.flatnonzero(slot_batch_a)
    inter_slots = np.flatnonzero(~slot_batch_a)

    def cdf(idx: np.ndarray) -> np.ndarray:
        c = np.cumsum(slot_w_a[idx] / slot_w_a[idx].sum())
        c[-1] = 1.0
        return c

    hours = np.arange(24)
    hw = 1 + sc.DIURNAL_AMPLITUDE * np.cos(2 * np.pi * (hours + 0.5 - sc.DIURNAL_PEAK_HOUR) / 24)
    hour_cdf = np.cumsum(hw / hw.sum())
    hour_cdf[-1] = 1.0
    offsets = np.cumsum([0] + [a.users for a in sc.APPS])[:-1]
    vendor_style = []
    for m in models:
        v = crow[m]["vendor"]
        vendor_style.append(v if v in NATIVE_FINISH else "openai")
    return _Tables(
        models=models,
        providers=providers,
        apps=apps,
        roles=roles,
        tier=[crow[m]["tier"] for m in models],
        reports=np.array([("yes", "zero", "no").index(crow[m]["reports_reasoning"]) for m in models]),
        vendor_style=vendor_style,
        price_in=np.array([crow[m]["input_usd_per_mtok"] for m in models]),
        price_out=np.array([crow[m]["output_usd_per_mtok"] for m in models]),
        price_cached=np.array([crow[m]["cached_input_usd_per_mtok"] for m in models]),
        # cache writes are billed at the write price where the vendor has one (Anthropic: 1.25x input)
        price_cache_write=np.array([crow[m][CACHE_WRITE_PRICE] or crow[m]["input_usd_per_mtok"] for m in models]),
        reasoning_b=np.array([sc.MODELS[m].reasoning_propensity for m in models]),
        ttft=np.array([sc.MODELS[m].ttft_ms for m in models], dtype=float),
        tps=np.array([sc.MODELS[m].tokens_per_s for m in models], dtype=float),
        in_mult=np.array([sc.TIER_INPUT_MULT[crow[m]["tier"]] for m in models]),
        out_mult=np.array([sc.TIER_OUTPUT_MULT[crow[m]["tier"]] for m in models]),
        prov_codes=prov_codes,
        prov_cdf=prov_cdf,
        backup=backup,
        tool_mult=tool_mult,
        err_delta=err_delta,
        lat_mult=lat_mult,
        cache_reports=np.array([p in sc.CACHE_REPORTING_PROVIDERS for p in providers]),
        cache_writes=np.array([p in us.CACHE_WRITE_PROVIDERS and p in sc.CACHE_REPORTING_PROVIDERS for p in providers]),
        app_session_len=np.array([us.SESSION_APPS.get(a.name, 0) for a in sc.APPS], dtype=np.int64),
        slot_app=np.array(slot_app),
        slot_role=np.array(slot_role),
        slot_model=np.array(slot_model),
        batch_slots=batch_slots,
        batch_cdf=cdf(batch_slots),
        inter_slots=inter_slots,
        inter_cdf=cdf(inter_slots),
        app_offered_p=np.array([np.nan if a.tools_offered_p is None else a.tools_offered_p for a in sc.APPS]),
        app_stream_p=np.array([a.streamed_p for a in sc.APPS]),
        app_cost_logged=np.array([a.cost_logged for a in sc.APPS]),
        app_users=np.array([a.users for a in sc.APPS]),
        app_user_offset=np.asarray(offsets),
        app_cache=np.array([a.cache_ratio for a in sc.APPS]),
        role_factor=np.array([sc.ROLE_TOOL_FACTOR[r] for r in roles]),
        role_in=np.array([sc.ROLE_TOKENS[r][0] for r in roles]),
        role_out=np.array([sc.ROLE_TOKENS[r][1] for r in roles]),
        hour_cdf=hour_cdf,
    )


def _lookup(values: list, codes: np.ndarray) -> pl.Series:
    """Strings by integer code; code -1 gives null."""
    table = pl.Series(list(values) + [None], dtype=pl.String)
    idx = np.where(codes < 0, len(values), codes).astype(np.uint32)
    return table.gather(idx)


def _attempts_series(two: np.ndarray, first: tuple, second: tuple) -> pl.Series:
    """List-of-struct column {provider, http_status, latency_ms, ts}: one attempt, two where ``two``.

    Built through Arrow offsets: polars' concat_list over structs is ~10x slower.
    """
    n = len(two)
    offsets = np.zeros(n + 1, dtype=np.int32)
    offsets[1:] = np.cumsum(1 + two)
    m = int(offsets[-1])
    pos1 = offsets[:-1]
    pos2 = pos1[two] + 1
    cols = []
    for k in range(1, 5):
        col = np.empty(m, dtype=np.asarray(first[k]).dtype)
        col[pos1] = first[k]
        col[pos2] = np.asarray(second[k])[two]
        cols.append(col)
    flat = pl.DataFrame(
        {
            "provider": _lookup(first[0], cols[0]),
            "http_status": cols[1].astype(np.int32),
            "latency_ms": cols[2].astype(np.float64),
            "ts": pl.Series(cols[3].astype(np.int64)).cast(pl.Datetime("ms", "UTC")),
        }
    )
    values = flat.to_struct("attempts").to_arrow()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pl.Series("attempts", pa.ListArray.from_arrays(pa.array(offsets), values))


def _apply_launches_and_switches(
    t: _Tables, app: np.ndarray, model: np.ndarray, tpos: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Model codes after :data:`usage.LAUNCHES` (fallback before an app adopts a new model) and
    :data:`usage.SWITCHES` (an app moves traffic between models over a window)."""
    midx = {m: i for i, m in enumerate(t.models)}
    aidx = {a: i for i, a in enumerate(t.apps)}
    for launch in us.LAUNCHES:
        lag = np.array([launch.app_lag.get(a, 0.0) for a in t.apps])[app]
        model[(model == midx[launch.model]) & (tpos < launch.at + lag)] = midx[launch.fallback]
    u = rng.random(len(model))
    for sw in us.SWITCHES:
        progress = np.clip((tpos - sw.start) / (sw.end - sw.start), 0.0, 1.0) * sw.share
        model[(app == aidx[sw.app]) & (model == midx[sw.from_model]) & (u < progress)] = midx[sw.to_model]
    return model


def _model_requested(
    t: _Tables, app: np.ndarray, model: np.ndarray, two: np.ndarray, tpos: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Model code each request asked for (:data:`usage.FALLBACKS`): the served model, except for a
    share of the failed-over requests of apps with a model fallback, which asked for the fallback's
    requested model (only once the app uses it: after its launch and the app's adoption lag)."""
    midx = {m: i for i, m in enumerate(t.models)}
    aidx = {a: i for i, a in enumerate(t.apps)}
    requested = model.copy()
    u = rng.random(len(model))
    for fb in us.FALLBACKS:
        since = next((la.at + la.app_lag.get(fb.app, 0.0) for la in us.LAUNCHES if la.model == fb.requested), 0.0)
        hit = (app == aidx[fb.app]) & (model == midx[fb.served]) & two & (tpos >= since) & (u < fb.p)
        requested[hit] = midx[fb.requested]
    return requested


def _session_ids(user_no: np.ndarray, day_ordinal: np.ndarray, ts: np.ndarray, length: np.ndarray, seed: int) -> np.ndarray:
    """Opaque session number: a user's requests of a day, in time order, cut into runs of
    ``length`` (per request: its app's session length); splitmix64 of (user, day, run) so the raw
    user number cannot be read back from it."""
    order = np.lexsort((ts, day_ordinal, user_no))
    key_u, key_d = user_no[order], day_ordinal[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = (key_u[1:] != key_u[:-1]) | (key_d[1:] != key_d[:-1])
    first = np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first
    block = rank // np.maximum(length, 1)
    with np.errstate(over="ignore"):
        z = (user_no.astype(np.uint64) << np.uint64(24)) ^ (day_ordinal.astype(np.uint64) << np.uint64(6)) ^ block.astype(np.uint64)
        z = z + np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(1)).astype(np.int64)


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


class Simulation:
    """The simulated period; iterate :meth:`chunks` (one frame per calendar month), then read
    :meth:`truth`."""

    def __init__(
        self, days: int, requests_per_day: int, seed: int, start: dt.date | None = None, events: bool = True
    ):
        if days < 1:
            raise ValueError("days must be >= 1")
        if requests_per_day < 1:
            raise ValueError("requests_per_day must be >= 1")
        self.days, self.rpd, self.seed = int(days), int(requests_per_day), int(seed)
        self.start = start or default_start(days)
        self.t = _build_tables()
        self.run_tag = hashlib.sha256(f"gatewaylens:{self.seed}".encode()).hexdigest()[:6]
        dates = [self.start + dt.timedelta(days=i) for i in range(self.days)]
        self.dates = dates
        self.day_ordinal = np.array([(d - EPOCH).days for d in dates], dtype=np.int64)
        weekend = np.array([d.weekday() >= 5 for d in dates])
        batch_share = sum(a.share for a in sc.APPS if a.batch)
        inter_share = 1.0 - batch_share
        w = batch_share + inter_share * np.where(weekend, sc.WEEKEND_FACTOR, 1.0)
        # regression events and traffic spikes (scenario.REGRESSION_EVENTS / TRAFFIC_SPIKES)
        self.events_active = bool(events) and self.days >= sc.EVENTS_MIN_DAYS
        self.event_onsets = [
            (e, int(math.floor(e.day_fraction * (self.days - 1)))) for e in sc.REGRESSION_EVENTS
        ] if self.events_active else []
        self.spike_share = np.zeros(self.days)  # share of the day's requests that are spike extras
        self.spikes = []
        if self.events_active:
            extra = np.zeros(self.days)
            for sp in sc.TRAFFIC_SPIKES:
                app_share = next(a.share for a in sc.APPS if a.name == sp.app)
                d0 = int(math.floor(sp.day_fraction * (self.days - 1)))
                d1 = min(d0 + sp.days, self.days)
                extra[d0:d1] += inter_share * np.where(weekend[d0:d1], sc.WEEKEND_FACTOR, 1.0) * app_share * (sp.multiplier - 1)
                self.spikes.append((sp, d0, d1))
            w = w + extra
            self.spike_share = extra / w
        self.counts = _largest_remainder(w, self.days * self.rpd)
        self.batch_counts = np.minimum(
            np.round(self.counts * batch_share / w).astype(np.int64), self.counts
        )
        pos = np.arange(self.days) / max(self.days - 1, 1)
        self.pos = pos
        self.tool_target = curve(pos, sc.TOOL_CALL_RATE_START, sc.TOOL_CALL_RATE_END)
        self.reason_target = curve(pos, sc.REASONING_SHARE_START, sc.REASONING_SHARE_END)
        self.outages = []
        for o in sc.OUTAGES:
            di = int(math.floor(o.day_fraction * (self.days - 1)))
            s = int(self.day_ordinal[di]) * MS_PER_DAY + o.start_hour * MS_PER_HOUR
            self.outages.append((o, di, s, s + o.hours * MS_PER_HOUR))
        # month chunks: [lo, hi) day indexes
        months = [(d.year, d.month) for d in dates]
        bounds = [0] + [i for i in range(1, self.days) if months[i] != months[i - 1]] + [self.days]
        self.chunk_bounds = list(zip(bounds[:-1], bounds[1:]))
        nm, npv = len(self.t.models), len(self.t.providers)
        # per-day accumulators for truth
        self.acc = {
            "n": np.zeros(self.days),
            "success": np.zeros(self.days),
            "p_sum": np.zeros(self.days),
            "tool_calls": np.zeros(self.days),
            "reason_exp": np.zeros(self.days),
            "reason_real": np.zeros(self.days),
            "out_reporting": np.zeros(self.days),
            "batch_window": np.zeros(self.days),
            "healthy_p": np.zeros((self.days, nm)),
            "healthy_n": np.zeros((self.days, nm)),
            "pair_n": np.zeros((self.days, nm, npv)),
            "pair_err": np.zeros((self.days, nm, npv)),
            "pair_success": np.zeros((self.days, nm, npv)),
            "outage_requests": np.zeros(len(self.outages)),
        }
        self.spike_counts = np.zeros(self.days, dtype=np.int64)
        self.substitutions: dict[tuple[str, str, str, str], int] = {}  # (day, app, requested, served) -> requests
        self._done = False

    # ------------------------------------------------------------------------------------------
    def chunks(self) -> Iterator[pl.DataFrame]:
        for ci, (lo, hi) in enumerate(self.chunk_bounds):
            rng = np.random.default_rng([self.seed, ci])
            yield self._chunk(lo, hi, rng)
        self._done = True

    def _chunk(self, lo: int, hi: int, rng: np.random.Generator) -> pl.DataFrame:
        t = self.t
        counts = self.counts[lo:hi]
        nd = hi - lo
        n = int(counts.sum())
        dl = np.repeat(np.arange(nd), counts)  # local day index
        first = np.repeat(np.cumsum(counts) - counts, counts)
        pos_in_day = np.arange(n) - first
        is_batch = pos_in_day < np.repeat(self.batch_counts[lo:hi], counts)

        # who / what
        u = rng.random(n)
        slot = np.where(
            is_batch,
            t.batch_slots[_pick(t.batch_cdf, u)],
            t.inter_slots[_pick(t.inter_cdf, u)],
        )
        if self.spikes:
            slot = self._spike_slots(slot, is_batch, dl, lo, hi)
        app, role, model = t.slot_app[slot], t.slot_role[slot], t.slot_model[slot]
        # launches and switches (usage.py) draw from their own stream: the others stay as they were
        urng = np.random.default_rng([self.seed, lo, 7])
        tpos = self.pos[lo:hi][dl]
        model = _apply_launches_and_switches(t, app, model.copy(), tpos, urng)

        # when
        u1, u2 = rng.random(n), rng.random(n)
        hour = np.where(is_batch, sc.BATCH_WINDOW[0], _pick(t.hour_cdf, u1))
        span = np.where(is_batch, (sc.BATCH_WINDOW[1] - sc.BATCH_WINDOW[0]) * MS_PER_HOUR, MS_PER_HOUR)
        ms = hour * MS_PER_HOUR + np.floor(u2 * span).astype(np.int64)
        ts = self.day_ordinal[lo:hi][dl] * MS_PER_DAY + ms

        # where: provider, outages, failover
        u = rng.random(n)
        kidx = (u[:, None] >= t.prov_cdf[model]).sum(axis=1)
        prov0 = t.prov_codes[model, kidx]
        pinned = np.zeros(n, dtype=bool)
        for (p_app, p_model), p_provider in us.PINNED.items():  # apps pinning a model to one provider
            pin = (app == t.apps.index(p_app)) & (model == t.models.index(p_model))
            prov0[pin] = t.providers.index(p_provider)
            pinned |= pin
        pidx = {p: i for i, p in enumerate(t.providers)}
        in_outage = np.zeros(n, dtype=bool)
        final = prov0.copy()
        for oi, (o, _di, s, e) in enumerate(self.outages):
            m = (prov0 == pidx[o.provider]) & (ts >= s) & (ts < e)
            in_outage |= m
            final[m] = pidx[o.failover_to]
            self.acc["outage_requests"][oi] += m.sum()
        failover = (~in_outage) & (rng.random(n) < sc.FAILOVER_RATE) & ~pinned  # pinned: nowhere to fail over to
        final[failover] = t.backup[model[failover], prov0[failover]]
        two = in_outage | failover
        fo_codes = np.array(list(sc.FAILOVER_FIRST_STATUS))
        fo_cdf = np.cumsum(list(sc.FAILOVER_FIRST_STATUS.values()))
        fo_cdf = fo_cdf / fo_cdf[-1]
        first_status = np.where(in_outage, 503, np.where(failover, fo_codes[_pick(fo_cdf, rng.random(n))], 200))
        # model fallbacks (usage.FALLBACKS) draw from their own stream: every other draw is unchanged
        requested = _model_requested(t, app, model, two, tpos, np.random.default_rng([self.seed, lo, 13]))

        # regression events (per request multipliers; no random draws, so events=False is unchanged)
        ev_tool, ev_err, ev_lat, ev_out = self._event_effects(model, final, dl + lo)

        # outcome
        err_p = sc.BASE_ERROR_RATE + t.err_delta[model, final] + ev_err
        is_err = (rng.random(n) < err_p) & ~two  # a failed-over request succeeds at the alternate
        ok = ~is_err
        ek = np.array(list(sc.ERROR_KINDS))
        ew = np.array([v[0] for v in sc.ERROR_KINDS.values()])
        ecode = _pick(np.cumsum(ew / ew.sum()), rng.random(n))
        http = np.where(is_err, ek[ecode], 200)

        offered_p = t.app_offered_p[app]
        offered_absent = np.isnan(offered_p)
        offered = (~offered_absent) & (rng.random(n) < np.nan_to_num(offered_p))
        a = offered * t.role_factor[role] * t.tool_mult[model, final]
        mean_a = np.bincount(dl, weights=a * ok, minlength=nd) / np.maximum(np.bincount(dl, weights=ok, minlength=nd), 1)
        k = np.where(mean_a > 0, self.tool_target[lo:hi] / np.where(mean_a > 0, mean_a, 1), 0.0)
        p = np.minimum(k[dl] * a, sc.TOOL_CALL_PROB_CAP) * ok * ev_tool
        uf = rng.random(n)
        rest = 1 - p
        finish = np.full(n, F_STOP)
        finish[uf < p + rest * (sc.LENGTH_RATE + sc.CONTENT_FILTER_RATE)] = F_FILTER
        finish[uf < p + rest * sc.LENGTH_RATE] = F_LENGTH
        finish[uf < p] = F_TOOL
        finish[is_err] = F_ERROR
        tcc_u = rng.random(n)
        tool_calls_n = np.where(finish == F_TOOL, 1 + (tcc_u > 0.55) + (tcc_u > 0.80) + (tcc_u > 0.92), 0)

        # tokens
        inp = np.exp(np.log(t.role_in[role] * t.in_mult[model]) + 0.7 * rng.standard_normal(n))
        inp = np.clip(np.round(inp), 20, 180_000).astype(np.int64)
        cache_rep = t.cache_reports[final]
        cached = np.floor(inp * np.clip(t.app_cache[app] * 2 * rng.beta(2, 2, n), 0, 0.95)).astype(np.int64)
        vis = np.exp(np.log(t.role_out[role] * t.out_mult[model] * ev_out) + 0.8 * rng.standard_normal(n))
        vis = np.clip(np.round(vis), 1, 8000)
        vis = np.where(finish == F_TOOL, np.maximum(np.round(vis * 0.5), 8), vis)
        vis = np.where(finish == F_LENGTH, 4096, vis)
        vis = np.where(finish == F_FILTER, np.minimum(vis, 24), vis)
        vis = np.where(is_err, 0, vis)
        reports = t.reports[model]
        yes = (reports == 0) & ok
        rb = t.reasoning_b[model] * np.exp(0.4 * rng.standard_normal(n) - 0.08)
        rep_ok = (reports < 2) & ok
        target = self.reason_target[lo:hi]
        klo, khi = np.zeros(nd), np.full(nd, 3.0)
        vis_rep = np.bincount(dl, weights=vis * rep_ok, minlength=nd)
        for _ in range(22):
            km = (klo + khi) / 2
            f = np.minimum(km[dl] * rb, sc.REASONING_FRACTION_CAP) * yes
            out_f = vis / (1 - f)
            share = np.bincount(dl, weights=(out_f - vis) * yes, minlength=nd) / np.maximum(
                vis_rep + np.bincount(dl, weights=(out_f - vis) * yes, minlength=nd), 1e-9
            )
            high = share > target
            khi = np.where(high, km, khi)
            klo = np.where(high, klo, km)
        f = np.minimum(((klo + khi) / 2)[dl] * rb, sc.REASONING_FRACTION_CAP) * yes
        out = np.round(vis / (1 - f)).astype(np.int64)
        reason = np.where(yes, out - vis.astype(np.int64), 0)
        inp = np.where(is_err, 0, inp)
        cached = np.where(is_err, 0, cached)


        # latency
        lm = t.lat_mult[model, final] * ev_lat
        ttft = t.ttft[model] * lm * np.exp(0.35 * rng.standard_normal(n))
        gen = out / (t.tps[model] / lm) * 1000 * np.exp(0.2 * rng.standard_normal(n))
        emed = np.array([v[2] for v in sc.ERROR_KINDS.values()])
        err_lat = emed[ecode] * np.exp(0.3 * rng.standard_normal(n))
        final_lat = np.round(np.where(is_err, err_lat, ttft + gen), 1)
        first_lat = np.where(
            in_outage, 45.0 * np.exp(0.3 * rng.standard_normal(n)), 150.0 * np.exp(0.5 * rng.standard_normal(n))
        )
        first_lat = np.round(first_lat, 1)
        total_lat = np.round(np.where(two, first_lat, 0.0) + final_lat, 1)
        streamed = rng.random(n) < t.app_stream_p[app]
        ttft_ms = np.round(np.where(two, first_lat, 0.0) + ttft, 1)
        ttft_null = ~(streamed & ok)
        a2_ts = ts + np.ceil(first_lat).astype(np.int64)

        # who exactly
        uu = rng.random(n)
        pool = t.app_users[app] * (us.USER_POOL_START + (1 - us.USER_POOL_START) * tpos)
        user_no = t.app_user_offset[app] + np.floor(pool * uu**us.USER_SKEW).astype(np.int64) + 1
        session = _session_ids(user_no, self.day_ordinal[lo:hi][dl], ts, t.app_session_len[app], self.seed)
        session_null = t.app_session_len[app] == 0
        writes = ok & t.cache_writes[final] & (urng.random(n) < us.CACHE_WRITE_P)
        cache_write = np.where(
            writes, np.floor((inp - cached) * urng.uniform(*us.CACHE_WRITE_SHARE, n)), 0
        ).astype(np.int64)
        cost = (
            (inp - cached - cache_write) * t.price_in[model] + cached * t.price_cached[model]
            + cache_write * t.price_cache_write[model] + out * t.price_out[model]
        ) / 1e6
        cost = np.round(cost, 8)
        cost_null = ~t.app_cost_logged[app]

        # --- truth accumulators (global day index) ---
        gd = dl + lo
        acc = self.acc
        nm, npv = len(t.models), len(t.providers)
        acc["n"][lo:hi] += counts
        acc["success"][lo:hi] += np.bincount(dl, weights=ok, minlength=nd)
        acc["p_sum"][lo:hi] += np.bincount(dl, weights=p, minlength=nd)
        acc["tool_calls"][lo:hi] += np.bincount(dl, weights=finish == F_TOOL, minlength=nd)
        acc["reason_exp"][lo:hi] += np.bincount(dl, weights=(vis / (1 - f) - vis) * yes, minlength=nd)
        acc["reason_real"][lo:hi] += np.bincount(dl, weights=reason * rep_ok, minlength=nd)
        acc["out_reporting"][lo:hi] += np.bincount(dl, weights=out * rep_ok, minlength=nd)
        acc["batch_window"][lo:hi] += np.bincount(dl, weights=(ms >= sc.BATCH_WINDOW[0] * MS_PER_HOUR) & (ms < sc.BATCH_WINDOW[1] * MS_PER_HOUR), minlength=nd)
        healthy = (t.tool_mult[model, final] == 1.0) & ok
        flat = gd * nm + model
        acc["healthy_p"] += np.bincount(flat, weights=p * healthy, minlength=self.days * nm).reshape(self.days, nm)
        acc["healthy_n"] += np.bincount(flat, weights=healthy, minlength=self.days * nm).reshape(self.days, nm)
        flat3 = (gd * nm + model) * npv + final
        size3 = self.days * nm * npv
        acc["pair_n"] += np.bincount(flat3, minlength=size3).reshape(self.days, nm, npv)
        acc["pair_err"] += np.bincount(flat3, weights=is_err, minlength=size3).reshape(self.days, nm, npv)
        acc["pair_success"] += np.bincount(flat3, weights=ok, minlength=size3).reshape(self.days, nm, npv)
        sub = requested != model
        if sub.any():
            keys, counts_ = np.unique(np.stack([gd[sub], app[sub], requested[sub], model[sub]], axis=1), axis=0,
                                      return_counts=True)
            for (d_, a_, r_, m_), c_ in zip(keys.tolist(), counts_.tolist(), strict=True):
                key = (self.dates[d_].isoformat(), t.apps[a_], t.models[r_], t.models[m_])
                self.substitutions[key] = self.substitutions.get(key, 0) + c_

        # --- order by time, ids ---
        order = np.lexsort((np.arange(n), ts))
        assert np.all(np.diff(dl[order]) >= 0)
        seq = np.arange(n) - first  # position within day after sorting (days stay contiguous)
        o = order

        native = np.full(n, -1)
        native_vals: list[str] = []
        for style, vals in NATIVE_FINISH.items():
            sm = np.array([s == style for s in t.vendor_style])[model]
            for fi, v in enumerate(vals):
                if v is None:
                    continue
                native_vals.append(v)
                native[sm & (finish == fi)] = len(native_vals) - 1
        err_types = [v[1] for v in sc.ERROR_KINDS.values()]

        def s(values, codes):
            return _lookup(values, codes[o])

        dates = pl.Series(self.day_ordinal[lo:hi][dl[o]].astype(np.int32)).cast(pl.Date)
        ts_s = pl.Series(ts[o]).cast(pl.Datetime("ms", "UTC"))
        frame = pl.DataFrame(
            {
                "day_str": pl.Series([d.strftime("%Y%m%d") for d in self.dates[lo:hi]], dtype=pl.String).gather(dl[o].astype(np.uint32)),
                "seq": seq + 1,
                "ts": ts_s,
                "day": dates,
                "app": s(t.apps, app),
                "user_no": user_no[o],
                "model": s(t.models, model),
                "model_requested": s(t.models, requested),
                "provider": s(t.providers, final),
                "status": s(["success", "error"], is_err.astype(np.int64)),
                "http_status": pl.Series(http[o].astype(np.int32)),
                "error_type": s(err_types, np.where(is_err, ecode, -1)),
                "finish_reason": s(list(FINISH), finish),
                "native_finish_reason": s(native_vals, native),
                "tools_offered": pl.Series(offered[o]),
                "tools_absent": offered_absent[o],
                "tool_call_count": pl.Series(tool_calls_n[o].astype(np.int32)),
                "input_tokens": inp[o],
                "cached_tokens": cached[o],
                "cached_null": ~cache_rep[o],
                "cache_write_tokens": cache_write[o],
                "session_no": session[o],
                "session_null": session_null[o],
                "output_tokens": out[o],
                "reasoning_tokens": reason[o],
                "reasoning_null": (reports == 2)[o] | is_err[o],
                "cost_usd": cost[o],
                "cost_null": cost_null[o],
                "latency_ms": total_lat[o],
                "ttft_ms": ttft_ms[o],
                "ttft_null": ttft_null[o],
                "streamed": streamed[o],
                "tool_call_probability": p[o],
            }
        )
        attempts = _attempts_series(
            two[o],
            (t.providers, prov0[o], np.where(two, first_status, http)[o], np.where(two, first_lat, final_lat)[o], ts[o]),
            (t.providers, final[o], http[o], final_lat[o], a2_ts[o]),
        )
        return frame.select(
            request_id=pl.concat_str([pl.lit(f"req-{self.run_tag}-"), pl.col("day_str"), pl.lit("-"), pl.col("seq").cast(pl.String).str.zfill(7)]),
            ts=pl.col("ts"),
            day=pl.col("day"),
            app=pl.col("app"),
            user=pl.lit("user-") + pl.col("user_no").cast(pl.String).str.zfill(6),
            model=pl.col("model"),
            provider=pl.col("provider"),
            status=pl.col("status"),
            http_status=pl.col("http_status"),
            error_type=pl.col("error_type"),
            finish_reason=pl.col("finish_reason"),
            native_finish_reason=pl.col("native_finish_reason"),
            tools_offered=pl.when(pl.col("tools_absent")).then(None).otherwise(pl.col("tools_offered")),
            tool_call_count=pl.col("tool_call_count"),
            input_tokens=pl.col("input_tokens"),
            cached_tokens=pl.when(pl.col("cached_null")).then(None).otherwise(pl.col("cached_tokens")),
            output_tokens=pl.col("output_tokens"),
            reasoning_tokens=pl.when(pl.col("reasoning_null")).then(None).otherwise(pl.col("reasoning_tokens")),
            cost_usd=pl.when(pl.col("cost_null")).then(None).otherwise(pl.col("cost_usd")),
            latency_ms=pl.col("latency_ms"),
            ttft_ms=pl.when(pl.col("ttft_null")).then(None).otherwise(pl.col("ttft_ms")),
            streamed=pl.col("streamed"),
            attempts=attempts,
            tool_call_probability=pl.col("tool_call_probability"),
            session_id=pl.when(pl.col("session_null")).then(None).otherwise(
                pl.lit("ses-") + pl.col("session_no").cast(pl.String)
            ),
            cache_write_tokens=pl.when(pl.col("cached_null")).then(None).otherwise(pl.col("cache_write_tokens")),
            model_requested=pl.col("model_requested"),
        )

    # ------------------------------------------------------------------------------------------
    def _event_effects(self, model: np.ndarray, final: np.ndarray, gd: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-request (tool-call multiplier, error-rate delta, latency multiplier, output multiplier)."""
        n = len(model)
        tool, err, lat, out = np.ones(n), np.zeros(n), np.ones(n), np.ones(n)
        midx = {m: i for i, m in enumerate(self.t.models)}
        pidx = {p: i for i, p in enumerate(self.t.providers)}
        for e, onset in self.event_onsets:
            hit = (model == midx[e.model]) & (gd >= onset)
            if e.providers:
                hit &= np.isin(final, [pidx[p] for p in e.providers])
            tool[hit] *= e.tool_call_multiplier
            err[hit] += e.error_rate_delta
            lat[hit] *= e.latency_multiplier
            out[hit] *= e.output_tokens_multiplier
        return tool, err, lat, out

    def _spike_slots(self, slot: np.ndarray, is_batch: np.ndarray, dl: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Turn the spike days' extra share of interactive requests into the spiking app's requests
        (own random stream: the main draws stay as without spikes)."""
        t = self.t
        rng = np.random.default_rng([self.seed, lo, 7919])
        u, v = rng.random(len(slot)), rng.random(len(slot))
        slot = slot.copy()
        for sp, d0, d1 in self.spikes:
            if d1 <= lo or d0 >= hi:
                continue
            ai = t.apps.index(sp.app)
            own = t.inter_slots[t.slot_app[t.inter_slots] == ai]
            w = np.diff(np.concatenate([[0.0], t.inter_cdf]))[np.isin(t.inter_slots, own)]
            cdf = np.cumsum(w / w.sum())
            cdf[-1] = 1.0
            gd = dl + lo
            inter_share = 1 - self.batch_counts[gd] / self.counts[gd]
            frac = self.spike_share[gd] / np.maximum(inter_share, 1e-9)
            hit = (gd >= d0) & (gd < d1) & ~is_batch & (u < frac)
            slot[hit] = own[_pick(cdf, v[hit])]
            np.add.at(self.spike_counts, gd[hit], 1)
        return slot

    def truth(self) -> dict:
        """Injected parameters and expected rates; call after :meth:`chunks` is exhausted."""
        if not self._done:
            raise RuntimeError("iterate chunks() to the end before asking for the truth")
        from gatewaylens.generator.truth import build_truth

        return build_truth(self)


def simulate(
    days: int, requests_per_day: int, seed: int, start: dt.date | None = None, events: bool = True
) -> tuple[pl.DataFrame, dict]:
    """The whole period as one frame (sorted by ts) plus the truth dict (see module docstring)."""
    sim = Simulation(days, requests_per_day, seed, start, events=events)
    frame = pl.concat(list(sim.chunks()))
    return frame, sim.truth()
