"""Resources: the warehouse, declared once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from gatewaylens.db import ensure_schema

DEFAULT_DB = "data/gatewaylens.duckdb"


def warehouse_resource() -> DuckDBResource:
    return DuckDBResource(database=dg.EnvVar("GATEWAYLENS_DB").get_value(DEFAULT_DB) or DEFAULT_DB)


@contextmanager
def warehouse(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection with UTC session time zone and the base tables in place.
    DuckDBResource retries lock errors from a concurrent writer with backoff."""
    with resource.get_connection() as con:
        con.execute("SET TimeZone = 'UTC'")
        ensure_schema(con)
        yield con


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"duckdb": warehouse_resource()})
