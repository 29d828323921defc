"""Data-quality checks over the warehouse. Each returns ``(passed, metadata)``.

The Dagster asset checks (``pipelines/defs/checks.py``) call these; so can anyone with a
connection. Every check is scoped to a day range (``start_day``..``end_day`` inclusive, UTC days)
when one is given — the days of the run — and covers the whole table otherwise.

Blocking (a failure stops downstream assets in the run):

* :func:`request_id_unique` — no ``request_id`` appears twice in ``requests``.
* :func:`file_lines_accounted` — per ingested file, ``records = rows_inserted + duplicates +
  quarantined + merged`` with ``records >= lines`` (records = lines, except OTLP lines batching
  several requests), and the rows stored from the file equal what its records say.
* :func:`rates_in_unit_interval` — every rate/share/probability column of a mart lies in [0, 1].
* :func:`shares_sum_to_one` — the share columns of a mix mart sum to 1 per day.
* :func:`totals_match_requests` — a mart's per-day request (and token) totals equal ``requests``.

Warnings (reported, never blocking):

* :func:`quarantine_rate` — quarantined lines / lines of the day's files above a threshold
  (default 1%).
* :func:`future_timestamps` — requests more than 1 hour ahead of now.
* :func:`low_volume_days` — a day with fewer requests than ``ratio`` (default 0.5) x the median of
  its trailing 7 days.

Table and column names that appear in SQL text come from fixed allow-lists here or from DuckDB's
own catalog (``information_schema``), never from user input; values are bound parameters.
"""

from __future__ import annotations

import datetime as dt
import re
import duckdb

from gatewaylens.config import DEFAULT_QUARANTINE_THRESHOLD

Metadata = dict[str, object]
CheckOutcome = tuple[bool, Metadata]

SHARE_TOLERANCE = 1e-9
FUTURE_TOLERANCE = dt.timedelta(hours=1)
LOW_VOLUME_RATIO = 0.5
LOW_VOLUME_TRAILING_DAYS = 7

# Columns of a day-grain mix mart that are each a share of the day's total (so sum to 1 per day).
SHARE_COLUMNS: dict[str, tuple[str, ...]] = {
    "model_mix_daily": ("request_share", "token_share", "cost_share"),
}
# Marts whose rows partition every request of a day: their totals must equal `requests`.
# Value: the additive columns compared with the same sum over `requests`.
TOTALS_COLUMNS: dict[str, tuple[str, ...]] = {
    "tool_call_rate_daily": ("requests",),
    "reasoning_share_daily": ("requests", "output_tokens"),
    "model_mix_daily": ("requests", "input_tokens", "output_tokens"),
    "cost_daily": ("requests", "input_tokens", "output_tokens"),
    "load_hourly": ("requests", "input_tokens", "output_tokens"),
    "policy_exposure_daily": ("requests", "input_tokens", "output_tokens"),
    "cache_daily": ("requests", "input_tokens"),
    "session_summary_daily": ("requests",),
}
# Rate-like columns: a name token 'rate', 'share', or one of these exact names; never a delta.
_RATE_TOKENS = {"rate", "share"}
_RATE_EXACT = {"ci_low", "ci_high", "p_value", "success_rate", "error_rate", "failover_coverage", "vendor_hhi", "provider_hhi"}
_NOT_RATE_TOKENS = {"delta", "diff", "change", "ratio", "per", "ms", "s"}
_NUMERIC = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT", "TINYINT")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _q(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"refusing identifier {name!r}")
    return f'"{name}"'


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> data type of a table or view in the main schema ({} if it does not exist)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


def time_column(columns: dict[str, str]) -> str | None:
    """The column that places a mart's rows on the day axis: day, hour, period or window_end."""
    for name in ("day", "hour", "period", "window_end"):
        if name in columns:
            return name
    return None


def _day_filter(col: str | None, start_day: dt.date | None, end_day: dt.date | None) -> tuple[str, list]:
    """A WHERE clause (and its params) keeping the days start..end of time column ``col``."""
    if col is None or start_day is None:
        return "TRUE", []
    return f"CAST({_q(col)} AS DATE) BETWEEN ? AND ?", [start_day, end_day or start_day]


def is_rate_column(name: str) -> bool:
    """A rate, share or probability by name: a 'rate'/'share' token or ci_low/ci_high/p_value,
    never a delta, ratio or per-unit quantity."""
    tokens = set(name.split("_"))
    if tokens & _NOT_RATE_TOKENS:
        return False
    return name in _RATE_EXACT or bool(tokens & _RATE_TOKENS)


def rate_columns(columns: dict[str, str]) -> list[str]:
    """Numeric columns holding a rate, share or probability (see :func:`is_rate_column`)."""
    return [n for n, t in columns.items() if t.upper().startswith(_NUMERIC) and is_rate_column(n)]


# ---------------------------------------------------------------- blocking checks on requests


def request_id_unique(con: duckdb.DuckDBPyConnection, start_day: dt.date | None = None,
                      end_day: dt.date | None = None) -> CheckOutcome:
    """No request_id appears twice in `requests` (among ids of rows in the day range, counted over
    the whole table, so a duplicate across days is caught too)."""
    where, params = _day_filter("day", start_day, end_day)
    rows = con.execute(
        f"""SELECT request_id, count(*) AS n FROM requests
            WHERE request_id IN (SELECT request_id FROM requests WHERE {where})
            GROUP BY request_id HAVING count(*) > 1 ORDER BY n DESC, request_id LIMIT 11""",
        params,
    ).fetchall()
    total = con.execute(
        f"""SELECT count(*) FROM (SELECT request_id FROM requests
            WHERE request_id IN (SELECT request_id FROM requests WHERE {where})
            GROUP BY request_id HAVING count(*) > 1)""",
        params,
    ).fetchall()[0][0]
    checked = con.execute(f"SELECT count(*) FROM requests WHERE {where}", params).fetchall()[0][0]
    return total == 0, {
        "rows_checked": int(checked),
        "duplicated_ids": int(total),
        "examples": ", ".join(f"{rid} (x{n})" for rid, n in rows[:10]),
    }


def _files_of_days(start_day: dt.date | None, end_day: dt.date | None) -> tuple[str, list]:
    """Ingested files of the day range: files holding rows of those days, or files whose path is in
    a landing folder of those days (``.../YYYY/MM/DD/name``; catches files with no good row)."""
    if start_day is None:
        return "TRUE", []
    end_day = end_day or start_day
    return (
        "(path IN (SELECT DISTINCT source_file FROM requests WHERE day BETWEEN ? AND ?) "
        "OR TRY_CAST(replace(regexp_extract(path, '(\\d{4}/\\d{2}/\\d{2})/[^/]+$', 1), '/', '-') AS DATE) "
        "BETWEEN ? AND ?)",
        [start_day, end_day, start_day, end_day],
    )


def file_lines_accounted(con: duckdb.DuckDBPyConnection, start_day: dt.date | None = None,
                         end_day: dt.date | None = None) -> CheckOutcome:
    """Per ingested file: records = rows_inserted + duplicates + quarantined + merged and
    records >= lines (records: one per line, one per request for an OTLP line batching several;
    the DDL (schema.TABLES) back-fills records = lines in rows older than the column), and the rows stored in
    `requests` from that path equal the sum of rows_inserted over its ingest records."""
    where, params = _files_of_days(start_day, end_day)
    bad_arith = con.execute(
        f"""SELECT path, lines, records, rows_inserted, duplicates, quarantined, merged FROM ingested_files
            WHERE {where} AND (records IS DISTINCT FROM rows_inserted + duplicates + quarantined + merged
                               OR records < lines)
            ORDER BY path LIMIT 10""",
        params,
    ).fetchall()
    bad_stored = con.execute(
        f"""WITH f AS (SELECT path, sum(rows_inserted) AS recorded FROM ingested_files WHERE {where} GROUP BY path),
                 r AS (SELECT source_file AS path, count(*) AS stored FROM requests
                       WHERE source_file IN (SELECT path FROM f) GROUP BY source_file)
            SELECT f.path, f.recorded, coalesce(r.stored, 0) FROM f LEFT JOIN r USING (path)
            WHERE f.recorded <> coalesce(r.stored, 0) ORDER BY f.path LIMIT 10""",
        params,
    ).fetchall()
    files, lines = con.execute(
        f"SELECT count(*), coalesce(sum(lines), 0) FROM ingested_files WHERE {where}", params
    ).fetchall()[0]
    passed = not bad_arith and not bad_stored
    return passed, {
        "files_checked": int(files),
        "lines_checked": int(lines),
        "files_not_adding_up": "; ".join(
            f"{p}: records {rec} != {r}+{d}+{q}+{m}" if rec != r + d + q + m else f"{p}: records {rec} < lines {ln}"
            for p, ln, rec, r, d, q, m in bad_arith
        ),
        "files_with_stored_rows_mismatch": "; ".join(f"{p}: recorded {a}, stored {b}" for p, a, b in bad_stored),
    }


# ---------------------------------------------------------------- blocking checks on marts


def rates_in_unit_interval(con: duckdb.DuckDBPyConnection, mart: str, start_day: dt.date | None = None,
                           end_day: dt.date | None = None) -> CheckOutcome:
    """Every rate/share/probability column of ``mart`` lies in [0, 1] (NULL = undefined is allowed)."""
    columns = table_columns(con, mart)
    if not columns:
        return False, {"error": f"table {mart} does not exist"}
    rates = rate_columns(columns)
    if not rates:
        return True, {"rate_columns": "(none)", "rows_checked": 0}
    where, params = _day_filter(time_column(columns), start_day, end_day)
    counts = ", ".join(f"count(*) FILTER (WHERE {_q(c)} < 0 OR {_q(c)} > 1 OR isnan({_q(c)}))" for c in rates)
    row = con.execute(f"SELECT count(*), {counts} FROM {_q(mart)} WHERE {where}", params).fetchall()[0]
    out_of_range = {c: int(n) for c, n in zip(rates, row[1:]) if n}
    return not out_of_range, {
        "rate_columns": ", ".join(rates),
        "rows_checked": int(row[0]),
        "out_of_range": ", ".join(f"{c}: {n} rows" for c, n in out_of_range.items()),
    }


def shares_sum_to_one(con: duckdb.DuckDBPyConnection, mart: str, start_day: dt.date | None = None,
                      end_day: dt.date | None = None, tolerance: float = SHARE_TOLERANCE) -> CheckOutcome:
    """For each share column of ``mart`` (:data:`SHARE_COLUMNS`), the shares of a day sum to 1
    (a day whose share is undefined on every row — e.g. no cost at all — is skipped)."""
    columns = table_columns(con, mart)
    shares = [c for c in SHARE_COLUMNS.get(mart, ()) if c in columns]
    if not columns or not shares:
        return False, {"error": f"{mart} has none of the share columns {SHARE_COLUMNS.get(mart, ())}"}
    where, params = _day_filter("day", start_day, end_day)
    bad: list[str] = []
    days = 0
    for c in shares:
        rows = con.execute(
            f"""SELECT day, sum({_q(c)}) AS total FROM {_q(mart)} WHERE {where}
                GROUP BY day HAVING count({_q(c)}) > 0 ORDER BY day""",
            params,
        ).fetchall()
        days = max(days, len(rows))
        bad += [f"{c} {d}: {t:.12g}" for d, t in rows if abs(t - 1.0) > tolerance]
    return not bad, {"share_columns": ", ".join(shares), "days_checked": days, "days_not_summing_to_1": "; ".join(bad[:20])}


def totals_match_requests(con: duckdb.DuckDBPyConnection, mart: str, start_day: dt.date | None = None,
                          end_day: dt.date | None = None) -> CheckOutcome:
    """Per day, the mart's additive totals (:data:`TOTALS_COLUMNS`) equal the same sums over
    `requests` — no request lost or counted twice by the mart."""
    columns = table_columns(con, mart)
    col = time_column(columns)
    sums = [c for c in TOTALS_COLUMNS.get(mart, ()) if c in columns]
    if not columns or col is None or not sums:
        return False, {"error": f"{mart} lacks a time column or the total columns {TOTALS_COLUMNS.get(mart, ())}"}
    m_where, m_params = _day_filter(col, start_day, end_day)
    r_where, r_params = _day_filter("day", start_day, end_day)
    m_sums = ", ".join(f"sum({_q(c)}) AS {_q(c)}" for c in sums)
    r_sums = ", ".join(("count(*)" if c == "requests" else f"sum({_q(c)})") + f" AS {_q(c)}" for c in sums)
    diffs = " OR ".join(f"m.{_q(c)} IS DISTINCT FROM r.{_q(c)}" for c in sums)
    rows = con.execute(
        f"""WITH m AS (SELECT CAST({_q(col)} AS DATE) AS d, {m_sums} FROM {_q(mart)} WHERE {m_where} GROUP BY 1),
                 r AS (SELECT day AS d, {r_sums} FROM requests WHERE {r_where} GROUP BY 1)
            SELECT coalesce(m.d, r.d) AS d, {", ".join(f"m.{_q(c)}, r.{_q(c)}" for c in sums)}
            FROM m FULL OUTER JOIN r ON m.d = r.d WHERE m.d IS NULL OR r.d IS NULL OR {diffs} ORDER BY d""",
        m_params + r_params,
    ).fetchall()
    days = con.execute(f"SELECT count(DISTINCT day) FROM requests WHERE {r_where}", r_params).fetchall()[0][0]
    details = []
    for row in rows[:10]:
        pairs = [f"{c} mart={row[1 + 2 * i]} requests={row[2 + 2 * i]}" for i, c in enumerate(sums)]
        details.append(f"{row[0]}: " + ", ".join(pairs))
    return not rows, {"columns": ", ".join(sums), "days_checked": int(days), "days_mismatched": len(rows),
                      "mismatches": "; ".join(details)}


# ---------------------------------------------------------------- warnings


def quarantine_rate(con: duckdb.DuckDBPyConnection, start_day: dt.date | None = None,
                    end_day: dt.date | None = None, threshold: float = DEFAULT_QUARANTINE_THRESHOLD) -> CheckOutcome:
    """Quarantined lines / lines read, over the files holding the day range, at most ``threshold``."""
    where, params = _files_of_days(start_day, end_day)
    lines, quarantined = con.execute(
        f"SELECT coalesce(sum(lines), 0), coalesce(sum(quarantined), 0) FROM ingested_files WHERE {where}", params
    ).fetchall()[0]
    rate = quarantined / lines if lines else 0.0
    reasons = con.execute(
        "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 5"
    ).fetchall()
    return rate <= threshold, {
        "lines": int(lines),
        "quarantined": int(quarantined),
        "quarantine_rate": round(rate, 6),
        "threshold": threshold,
        "top_reasons": "; ".join(f"{r}: {n}" for r, n in reasons),
    }


def future_timestamps(con: duckdb.DuckDBPyConnection, start_day: dt.date | None = None,
                      end_day: dt.date | None = None, now: dt.datetime | None = None,
                      tolerance: dt.timedelta = FUTURE_TOLERANCE) -> CheckOutcome:
    """No request timestamp more than ``tolerance`` (1 h) ahead of ``now`` (clock skew or bad logs)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    where, params = _day_filter("day", start_day, end_day)
    n, latest = con.execute(
        f"SELECT count(*), max(ts) FROM requests WHERE {where} AND ts > ?", params + [now + tolerance]
    ).fetchall()[0]
    return n == 0, {"future_rows": int(n), "latest_future_ts": str(latest) if latest else "", "now": now.isoformat()}


def low_volume_days(con: duckdb.DuckDBPyConnection, start_day: dt.date | None = None,
                    end_day: dt.date | None = None, ratio: float = LOW_VOLUME_RATIO,
                    trailing_days: int = LOW_VOLUME_TRAILING_DAYS) -> CheckOutcome:
    """No day with fewer than ``ratio`` x the median requests of its trailing ``trailing_days`` days
    (lost log files, a broken shipper). Days with less than 3 trailing days of history are skipped."""
    where, params = _day_filter("d", start_day, end_day)
    rows = con.execute(
        f"""WITH days AS (SELECT day AS d, count(*) AS n FROM requests GROUP BY day),
                 t AS (SELECT a.d, a.n, median(b.n) AS trailing_median, count(b.n) AS history
                       FROM days a LEFT JOIN days b ON b.d BETWEEN a.d - CAST(? AS INTEGER) AND a.d - 1
                       GROUP BY a.d, a.n)
            SELECT d, n, trailing_median FROM t
            WHERE {where} AND history >= 3 AND n < ? * trailing_median ORDER BY d""",
        [trailing_days] + params + [ratio],
    ).fetchall()
    return not rows, {
        "low_days": "; ".join(f"{d}: {n} requests vs trailing median {m:g}" for d, n, m in rows[:20]),
        "ratio": ratio,
        "trailing_days": trailing_days,
    }


def applicable_mart_checks(mart: str, columns: Iterable[str] | None = None) -> list[str]:
    """Names of the mart checks that apply to ``mart`` given its column names (when known): rates
    when it has a rate-like column, shares and totals by allow-list."""
    names = []
    if columns is None or any(is_rate_column(c) for c in columns):
        names.append("rates_in_unit_interval")
    if mart in SHARE_COLUMNS:
        names.append("shares_sum_to_one")
    if mart in TOTALS_COLUMNS:
        names.append("totals_match_requests")
    return names
