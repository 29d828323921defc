"""Data quality: what was ingested, what was quarantined and why, how fresh the marts are.

Reads the small bookkeeping tables ingested_files and quarantine, and max(day) of each mart
(the last materialized partition). Not affected by the sidebar filters.
"""

import datetime as dt

import streamlit as st

from dashboards.charts import data, ui
from dashboards.charts.figures import build_ingest_figure, build_quarantine_figure
from dashboards.charts.text import md
from gatewaylens import identity
from gatewaylens.results import csv_text
from gatewaylens.marts import MARTS

PAGE = "data_quality"

data.require("ingested_files", "quarantine")

st.title("Data quality")
st.caption(f"Reading {md(data.database_path().name)} (serving snapshot when published, else the warehouse).")

files = data.query(
    "SELECT count(*) AS files, sum(lines) AS lines, sum(rows_inserted) AS rows_inserted, sum(duplicates) AS duplicates, "
    "sum(quarantined) AS quarantined, sum(merged) AS merged, max(ingested_at) AS last_ingest FROM ingested_files"
).row(0, named=True)
present = data.tables()
marts = [m for m in MARTS if m in present]  # fixed identifiers from the library's list
last_day = None
if marts:
    freshness = data.query(
        " UNION ALL ".join(f"SELECT '{m}' AS mart, max(day) AS last_partition, count(*) AS mart_rows FROM {m}" for m in marts)
    )
    last_day = freshness["last_partition"].max()
else:
    freshness = None

c1, c2, c3, c4 = st.columns(4)
c1.metric("Files ingested", f"{files['files'] or 0:,}")
c2.metric("Rows inserted", ui.fmt_count(files["rows_inserted"] or 0))
c3.metric(
    "Quarantined lines", f"{files['quarantined'] or 0:,}",
    help=f"{ui.fmt_pct(ui.ratio(files['quarantined'], files['lines']))} of {files['lines'] or 0:,} input lines",
)
if files["last_ingest"] is not None:
    age = dt.datetime.now(dt.timezone.utc) - files["last_ingest"]
    hours = age.total_seconds() / 3600
    c4.metric(
        "Last ingest", f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.1f} days ago",
        help=f"{files['last_ingest']:%Y-%m-%d %H:%M} UTC; last materialized partition: {last_day or 'none'}",
    )
else:
    c4.metric("Last ingest", "never")
if last_day is not None:
    st.caption(f"Last materialized partition (newest day in the marts): **{last_day:%Y-%m-%d}**")

left, right = st.columns(2)
with left:
    reasons = data.query("SELECT reason, count(*) AS lines FROM quarantine GROUP BY reason ORDER BY lines DESC, reason")
    ui.chart(build_quarantine_figure(reasons), reasons, "quarantine_by_reason", PAGE)
with right:
    ingest = data.query(
        "SELECT strftime(CAST(ingested_at AS DATE), '%Y-%m-%d') AS ingested_day, count(*) AS files, sum(lines) AS lines, "
        "sum(rows_inserted) AS rows_inserted, sum(duplicates) AS duplicates, sum(merged) AS merged, "
        "sum(quarantined) AS quarantined FROM ingested_files GROUP BY ALL ORDER BY ingested_day"
    )
    ui.chart(build_ingest_figure(ingest), ingest, "ingest_by_day", PAGE)

st.subheader("Sample quarantined lines")
samples = data.query(
    "SELECT reason, detail, source_file, line_no, left(raw_line, 300) AS raw_line FROM quarantine "
    "QUALIFY row_number() OVER (PARTITION BY reason ORDER BY source_file, line_no) <= 3 ORDER BY reason, source_file, line_no"
)
if samples.height:
    st.dataframe(samples, hide_index=True, key=f"{PAGE}.samples")
else:
    st.success("No quarantined lines.")

st.subheader("Unrecognised models")
# Model ids (served or requested) that neither the override CSV nor genai-prices recognises:
# ingest kept them as given. Map them in the CSV named by GATEWAYLENS_MODEL_ALIASES.
has_requested = bool(data.query(
    "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'requests' AND column_name = 'model_requested'"
)["n"][0])
unknown = identity.unrecognised(data.query(identity.UNRECOGNISED_SQL if has_requested else identity.UNRECOGNISED_SERVED_SQL))
if unknown.height:
    st.caption(
        f"{unknown.height:,} model id(s) are not recognised and were stored as given. Add them to the CSV named by "
        "`GATEWAYLENS_MODEL_ALIASES` (`alias,model,note`; see docs/formats.md, Model identity), then re-ingest those days."
    )
    st.dataframe(unknown, hide_index=True, key=f"{PAGE}.unrecognised")
    st.download_button("Download CSV", csv_text(unknown), file_name="unrecognised_models.csv", mime="text/csv",
                       key=f"{PAGE}.unrecognised.csv", on_click="ignore")
else:
    st.success("Every model id was recognised.")

st.subheader("Marts")
if freshness is not None:
    st.dataframe(
        freshness, hide_index=True, key=f"{PAGE}.freshness",
        column_config={"last_partition": st.column_config.DateColumn("last partition (UTC day)", format="YYYY-MM-DD")},
    )
else:
    st.info("No mart has been built yet: run `gatewaylens build --all` or wait for the nightly run.")

st.subheader("Files")
# records = requests the lines held (more than lines when an OTLP line batches several traces);
# records = rows_inserted + duplicates + quarantined + merged. (Absent from snapshots published
# before the column existed.)
has_records = bool(data.query(
    "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'ingested_files' AND column_name = 'records'"
)["n"][0])
recent = data.query(
    f"SELECT path, lines, {'records, ' if has_records else ''}rows_inserted, duplicates, quarantined, merged, bytes, "
    "ingested_at FROM ingested_files ORDER BY ingested_at DESC, path LIMIT 200"
)
st.dataframe(recent, hide_index=True, key=f"{PAGE}.files")
st.download_button("Download CSV", csv_text(recent), file_name="ingested_files.csv", mime="text/csv", key=f"{PAGE}.files.csv", on_click="ignore")
