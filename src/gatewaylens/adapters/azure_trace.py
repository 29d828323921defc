"""Azure LLM inference traces (2023) -> canonical JSONL.

Source: ``AzureLLMInferenceTrace_{code,conv}.csv`` from Azure/AzurePublicDataset (CC-BY 4.0,
Patel et al., "Splitwise", ISCA 2024), copied under ``shared/real_traces/azure_llm_2023/``.
Columns: ``TIMESTAMP`` (naive datetime, 100 ns precision), ``ContextTokens``, ``GeneratedTokens``.
The trace has no model, provider, status, latency, tool or reasoning information.

Mapping, one canonical line per CSV data row:

==================  ==========================================================================
request_id          ``azure-<file stem>-<row>`` (row = 1-based data row, header excluded)
ts                  TIMESTAMP read as **UTC**, truncated to microseconds (canonical ts precision;
                    truncation never moves a request to another minute or hour)
input_tokens        ContextTokens
output_tokens       GeneratedTokens
model               ``azure-trace/unknown`` (placeholder: the trace does not say)
provider            ``azure`` (placeholder)
app                 ``azure-trace-code`` / ``azure-trace-conv`` (from the file name; else
                    ``azure-trace-<stem>``)
status              ``success`` (the trace records served requests)
reasoning_tokens    absent (NULL: not reported); tools_offered absent (NULL: unknown)
==================  ==========================================================================

Output: ``OUT/YYYY/MM/DD/azure-<stem>.jsonl`` per UTC day, the landing layout that
``gatewaylens ingest`` and the pipeline read. Run::

    python -m gatewaylens.adapters.azure_trace ../shared/real_traces/azure_llm_2023/*.csv --out data/azure
    gatewaylens ingest data/azure --db data/azure.duckdb && gatewaylens build --all --db data/azure.duckdb
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

MODEL = "azure-trace/unknown"
PROVIDER = "azure"
COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


def app_for(path: Path) -> str:
    stem = Path(path).stem
    for kind in ("code", "conv"):
        if stem.lower().endswith(f"_{kind}"):
            return f"azure-trace-{kind}"
    return f"azure-trace-{stem.lower()}"


def read_trace(path: str | Path) -> pl.DataFrame:
    """The CSV as a frame: row (1-based), ts (UTC, microseconds), input_tokens, output_tokens."""
    path = Path(path)
    frame = pl.read_csv(path, schema_overrides={"TIMESTAMP": pl.String, "ContextTokens": pl.Int64, "GeneratedTokens": pl.Int64})
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not an Azure LLM inference trace (missing columns {missing}; expected {list(COLUMNS)})")
    # 7 fractional digits: keep 6 (truncate), parse as UTC.
    ts = (
        pl.col("TIMESTAMP").str.replace(r"^(.*\.\d{6})\d*$", "${1}")
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", time_zone="UTC")
    )
    return frame.select(
        row=pl.int_range(1, pl.len() + 1),
        ts=ts,
        input_tokens=pl.col("ContextTokens"),
        output_tokens=pl.col("GeneratedTokens"),
    )


def canonical_lines(path: str | Path) -> Iterator[dict]:
    """Canonical line dicts for one trace file, in file order."""
    path = Path(path)
    stem, app = path.stem, app_for(path)
    for row, ts, inp, out in read_trace(path).iter_rows():
        yield {
            "request_id": f"azure-{stem}-{row}",
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "model": MODEL,
            "provider": PROVIDER,
            "app": app,
            "status": "success",
            "input_tokens": int(inp),
            "output_tokens": int(out),
        }


def write_canonical(paths: Iterable[str | Path], out: str | Path) -> list[Path]:
    """Write each trace as OUT/YYYY/MM/DD/azure-<stem>.jsonl (one file per UTC day). Returns the files."""
    out = Path(out)
    written: list[Path] = []
    for path in paths:
        path = Path(path)
        by_day: dict[str, list[str]] = {}
        for line in canonical_lines(path):
            by_day.setdefault(line["ts"][:10], []).append(json.dumps(line, separators=(",", ":")))
        for day, lines in sorted(by_day.items()):
            target = out / day[:4] / day[5:7] / day[8:10] / f"azure-{path.stem}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(lines) + "\n")
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Azure LLM inference trace CSV -> canonical JSONL landing files.")
    parser.add_argument("csv", nargs="+", type=Path, help="AzureLLMInferenceTrace_*.csv files")
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write (OUT/YYYY/MM/DD/)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.csv if not p.exists()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        files = write_canonical(args.csv, args.out)
    except (ValueError, pl.exceptions.PolarsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(files)} files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
