"""Design probe for issue #10: would a typed read_json, proven exact line by line, stage canonical
lines more cheaply than today's fast path? CPU seconds of four statements on the same file, in one
process, alternately (the lower of ``--rounds`` runs of each):

    .venv/bin/python benchmarks/ingest_design.py FILE.jsonl [--rounds 2]

  today      A  the fast path's staging (ingest.stage.fast_sql: every field cut out as a JSON
                fragment, type/domain checks, ``reason``) into a temp table
             D  its duplicate-key pass (ingest.stage.KEY_SHAPES_SQL, per key shape)
  typed      B  typed read_json (VARCHAR / BIGINT / INTEGER / DOUBLE / BOOLEAN, the attempts as a
                typed list) with the value-level rules and ``reason`` into a temp table
             C  the proof B needs before its values can be trusted: an RE2 full match of each raw
                line against a grammar of the canonical line whose keys come in the file's order
                (so none twice, none unknown), with exact JSON types, integers that fit, finite
                numbers and no escapes — a line failing it would be re-staged through the per-line path

Prints each and the sums A+D (today) and B+C (typed). Typed read_json alone cannot replace A: it
coerces "12" to 12, 12.5 to 12 and true to 1, and keeps the first of two equal keys silently.
The file must be canonical (e.g. benchmarks/formats.py --formats canonical --keep).
"""

from __future__ import annotations

import argparse
import graphlib
import json
import time

import duckdb

from gatewaylens import formats
from gatewaylens.formats import canonical
from gatewaylens.ingest import check, stage

_TYPES = {"str": "VARCHAR", "ts": "VARCHAR", "int": "BIGINT", "int32": "INTEGER", "num": "DOUBLE", "bool": "BOOLEAN",
          "list": "STRUCT(provider VARCHAR, http_status INTEGER, latency_ms DOUBLE, ts VARCHAR)[]",
          "strlist": "VARCHAR[]"}


def typed_sql() -> str:
    """B: the staged columns from a typed read (parameter: the file)."""
    columns = "{" + ", ".join(f"'{n}': '{_TYPES[k]}'" for n, k in canonical.FIELDS) + "}"
    out = [n for n, _ in formats.STAGED_COLUMNS if n != "reason"]
    expr = {n: n for n in out} | {
        "line_no": "CAST(0 AS BIGINT)", "record_no": "CAST(0 AS INTEGER)", "merged": "false",
        "source_format": f"'{canonical.NAME}'", "ts": "TRY_CAST(ts AS TIMESTAMPTZ)", "user_raw": '"user"',
        "attempt_list": "[{'provider': a.provider, 'http_status': a.http_status, 'latency_ms': a.latency_ms, "
                        "'ts': TRY_CAST(a.ts AS TIMESTAMPTZ)} FOR a IN attempts]",
        "model_raw": "CAST(NULL AS VARCHAR)", "cost_estimated_usd": "CAST(NULL AS DOUBLE)",
        "cost_source": "CAST(NULL AS VARCHAR)",
    }
    value_rules = """CASE WHEN request_id IS NULL THEN 'missing required field: request_id'
        WHEN ts IS NULL THEN 'missing required field: ts' WHEN model IS NULL THEN 'missing required field: model'
        WHEN TRY_CAST(ts AS TIMESTAMPTZ) IS NULL THEN 'unparseable timestamp: ts'
        WHEN len(attempts) = 0 THEN 'wrong type: attempts must list at least one attempt'
        WHEN NOT list_bool_and([a.provider IS NOT NULL AND (a.ts IS NULL OR TRY_CAST(a.ts AS TIMESTAMPTZ) IS NOT NULL)
                                FOR a IN attempts]) THEN 'attempts'
        WHEN status NOT IN ('success', 'error') THEN 'invalid value: status must be success or error' END"""
    inner = ", ".join(f"{expr[n]} AS {n}" for n in out) + f", {value_rules} AS reason"
    return (f"SELECT {', '.join(out)}, {check.reason_sql()} AS reason FROM (SELECT {inner} "
            f"FROM read_json(?, format = 'newline_delimited', records = true, columns = {columns}, "
            f"maximum_object_size = {stage.FAST_PATH_MAX_LINE_BYTES}, ignore_errors = true))")


def grammar(order: list[str]) -> str:
    """C's regular expression: a canonical line, keys in ``order`` (each at most once)."""
    ws, s = "[ \\t]*", '"[^"\\\\\\x00-\\x1f]*"'
    i64, i32 = "-?[0-9]{1,18}", "-?[0-9]{1,9}"
    num = "-?[0-9]{1,15}(?:\\.[0-9]{1,17})?(?:[eE][-+]?[0-9]{1,2})?"

    def opt(v: str) -> str:
        return f"(?:{v}|null)"

    member = "(?:" + "|".join(f'"{k}"{ws}:{ws}{v}' for k, v in
                              {"provider": s, "http_status": opt(i32), "latency_ms": opt(num), "ts": opt(s)}.items()) + ")"
    obj = f"\\{{{ws}(?:{member}(?:{ws},{ws}{member})*)?{ws}\\}}"
    kinds = {"str": s, "ts": s, "int": i64, "int32": i32, "num": num, "bool": "(?:true|false)",
             "list": f"\\[{ws}{obj}(?:{ws},{ws}{obj})*{ws}\\]", "strlist": f"\\[{ws}(?:{s}(?:{ws},{ws}{s})*)?{ws}\\]"}
    by_name = {n: f'"{n}"{ws}:{ws}{opt(kinds[k])}' for n, k in canonical.FIELDS}
    keys = order + [n for n in by_name if n not in order]
    return f"{ws}\\{{{ws}" + "".join(f"(?:,?{ws}{by_name[n]}{ws})?" for n in keys) + f"\\}}{ws}"


def key_order(path: str, lines: int = 2000) -> list[str]:
    """The canonical keys in an order consistent with every one of the file's first lines (a
    topological order of "comes before"; a writer emits its keys in one fixed order)."""
    known, before = {n for n, _ in canonical.FIELDS}, {}
    with open(path, encoding="utf-8") as fh:
        for _, line in zip(range(lines), fh):
            keys = [k for k in json.loads(line) if k in known]
            for k in keys:
                before.setdefault(k, set())
            for a, b in zip(keys, keys[1:]):
                before[b].add(a)
    return list(graphlib.TopologicalSorter(before).static_order())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("SET VARIABLE gatewaylens_ts_max = now() + INTERVAL 1 DAY")
    objects = (f"read_json_objects(?, format = 'newline_delimited', "
               f"maximum_object_size = {stage.FAST_PATH_MAX_LINE_BYTES}, ignore_errors = true)")
    steps = {
        "A today: fragments staging": (f"CREATE OR REPLACE TEMP TABLE a AS {stage.fast_sql(con)}", [args.file, "none"]),
        "D today: duplicate-key pass": (f"CREATE OR REPLACE TEMP TABLE d AS SELECT DISTINCT shape, n "
                                        f"FROM ({stage.KEY_SHAPES_SQL})", [args.file, "none"]),
        "B typed: typed staging": (f"CREATE OR REPLACE TEMP TABLE b AS {typed_sql()}", [args.file]),
        "C typed: grammar pass": (f"CREATE OR REPLACE TEMP TABLE c AS SELECT regexp_full_match(json, ?) AS ok FROM {objects}",
                                  [grammar(key_order(args.file)), args.file]),
    }
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, (sql, params) in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            con.execute(sql, params)
            cpu = time.process_time() - cpu
            best[name] = min(best.get(name, cpu), cpu)
            print(f"{name:<32} {time.perf_counter() - wall:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    matched = con.sql("SELECT count(*) FILTER (WHERE ok), count(*) FROM c").fetchall()[0]
    a, d, b, c = best.values()
    print(f"lines matching the grammar: {matched[0]:,} of {matched[1]:,}")
    print(f"best CPU s: today A + D = {a:.2f} + {d:.2f} = {a + d:.2f}; typed B + C = {b:.2f} + {c:.2f} = {b + c:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
