"""SQL console over the serving snapshot: read-only, one SELECT at a time, isolated and capped.

Statements are inspected by gatewaylens.sqlguard (DuckDB's own parser) and refused with a clear
message when they write, change settings, attach, load extensions or read files/URLs; accepted
ones run in a worker process of their own (own DuckDB instance, memory and thread limits,
external access off, killed at the deadline) and come back capped in rows and bytes — so a
runaway query never slows or breaks anyone else's pages. The schema browser lists every table
and view with its data-dictionary text.
"""

import polars as pl
import streamlit as st

from dashboards.charts import data, ui
from dashboards.charts.figures import build_result_figure
from dashboards.charts.text import md
from gatewaylens import sqlguard
from gatewaylens.db import WarehouseLockedError
from gatewaylens.results import csv_text
from gatewaylens.schema import column_docs

PAGE = "sql"
LIMITS = sqlguard.Limits.from_settings()

data.require()  # raises the no-data state when there is no database at all
present = data.tables()


def _docs() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """({table: {column: description}}, {table: grain/definition text}) from the data dictionary."""
    from gatewaylens.schema import TABLE_MODELS

    docs = dict(column_docs())
    descriptions = {t: (m.__doc__ or "").strip() for t, m in TABLE_MODELS.items()}
    try:
        from gatewaylens import marts

        docs.update(marts.mart_docs())
        descriptions.update(marts.mart_descriptions())
    except Exception:  # the marts module may not expose docs: fall back to DuckDB comments
        pass
    return docs, descriptions


def default_query() -> str:
    if "v_adoption_monthly" in present:
        return "SELECT *\nFROM v_adoption_monthly\nORDER BY month"
    if "tool_call_rate_daily" in present:
        return (
            "SELECT day, sum(tool_call_requests) / sum(successful_requests) AS tool_call_rate\n"
            "FROM tool_call_rate_daily\nGROUP BY day\nORDER BY day"
        )
    return "SELECT table_name, table_type FROM information_schema.tables ORDER BY table_name"


st.title("SQL console")
st.caption(
    f"Read-only over {md(data.database_path().name)}. One SELECT (WITH, FROM, DESCRIBE, SUMMARIZE ...) at a time; "
    "writes, settings, ATTACH, extensions and file/URL reads are refused. Each query runs alone with "
    f"{LIMITS.memory_mb:,} MiB and {LIMITS.threads} thread(s), is stopped after {LIMITS.time_limit_s:g} s and returns "
    f"at most {LIMITS.row_limit:,} rows / {LIMITS.byte_limit // sqlguard.MIB:,} MiB."
)

main, browser = st.columns([3, 2])
with main:
    with st.form(f"{PAGE}.form"):
        sql = st.text_area("SQL", value=default_query(), height=160, key=f"{PAGE}.text")
        row_limit = st.number_input(
            "Row limit", min_value=1, max_value=LIMITS.row_limit, value=min(1_000, LIMITS.row_limit), step=500,
            key=f"{PAGE}.limit",
        )
        submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")

    state_key = f"{PAGE}.result"
    if submitted or state_key not in st.session_state:
        try:
            res = sqlguard.run_guarded(data.database_path(), sql, row_limit=int(row_limit))
            st.session_state[state_key] = ("ok", res)
        except sqlguard.RefusedStatement as exc:
            st.session_state[state_key] = ("refused", str(exc))
        except TimeoutError as exc:
            st.session_state[state_key] = ("timeout", str(exc))
        except sqlguard.MemoryLimitExceeded as exc:
            st.session_state[state_key] = ("memory", str(exc))
        except (sqlguard.QueryFailed, FileNotFoundError, WarehouseLockedError) as exc:
            st.session_state[state_key] = ("error", f"The query failed: {str(exc).splitlines()[0]}")

    kind, payload = st.session_state[state_key]
    if kind == "ok":
        res: sqlguard.QueryResult = payload
        msg = f"{res.frame.height:,} rows in {res.seconds:.2f} s"
        if res.truncated_by == "rows":
            st.warning(f"{msg} — truncated: more rows exist than the row limit ({res.row_limit:,}).", icon=":material/content_cut:")
        elif res.truncated_by == "bytes":
            st.warning(
                f"{msg} — truncated: the result passed the size cap ({res.byte_limit // sqlguard.MIB:,} MiB); "
                "select fewer or shorter columns.",
                icon=":material/content_cut:",
            )
        else:
            st.caption(msg)
        st.dataframe(res.frame, hide_index=True, key=f"{PAGE}.table")
        st.download_button(
            "Download CSV", csv_text(res.frame), file_name="query_result.csv", mime="text/csv",
            key=f"{PAGE}.csv", on_click="ignore", icon=":material/download:",
        )
        numeric = [c for c, t in res.frame.schema.items() if t.is_numeric() and c != res.frame.columns[0]]
        if res.frame.height and numeric:
            with st.expander("Chart the result", expanded=True):
                rates = [c for c in numeric if c.endswith(("_rate", "_share"))]
                ys = st.multiselect("Columns to plot", numeric, default=rates or numeric[:1], key=f"{PAGE}.ys")
                ui.plot(build_result_figure(res.frame, ys=ys), key=f"{PAGE}.chart")
    elif kind == "refused":
        st.error(md(payload), icon=":material/block:")
    elif kind == "timeout":
        st.error(md(payload), icon=":material/timer_off:")
    elif kind == "memory":
        st.error(md(payload), icon=":material/memory:")
    else:
        st.error(md(payload), icon=":material/error:")

with browser:
    st.subheader("Schema")
    docs, descriptions = _docs()
    cols = data.query(
        "SELECT c.table_name, c.column_name, c.data_type, c.ordinal_position, t.table_type, col.comment "
        "FROM information_schema.columns c JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "LEFT JOIN duckdb_columns() col ON col.table_name = c.table_name AND col.column_name = c.column_name "
        "AND col.schema_name = c.table_schema AND col.database_name = c.table_catalog "
        "WHERE c.table_catalog = current_database() ORDER BY c.table_name, c.ordinal_position"
    )
    counts = cols.group_by("table_name", maintain_order=True).agg(pl.len().alias("n"), pl.col("table_type").first())
    labels = {
        r["table_name"]: f"{r['table_name']} · {'view' if r['table_type'] == 'VIEW' else 'table'} · {r['n']} columns"
        for r in counts.iter_rows(named=True)
    }
    table = st.selectbox(
        "Table or view", list(labels), format_func=labels.get, key=f"{PAGE}.table_pick",
        index=list(labels).index("v_adoption_monthly") if "v_adoption_monthly" in labels else 0,
        help="type to search",
    )
    if table:
        part = cols.filter(pl.col("table_name") == table)
        tdocs = docs.get(table, {})
        described = part.select(
            pl.col("column_name").alias("column"),
            pl.col("data_type").alias("type"),
            pl.struct("column_name", "comment")
            .map_elements(lambda r: tdocs.get(r["column_name"]) or r["comment"] or "", return_dtype=pl.String)
            .alias("description"),
        )
        if descriptions.get(table):
            with st.expander("About this table", expanded=False):
                st.text(descriptions[table])
        st.dataframe(described, hide_index=True, key=f"{PAGE}.schema", height=min(38 + 35 * described.height, 600))
