"""Compute engines for the marts and ingest (``GATEWAYLENS_ENGINE``): DuckDB (default, in
``gatewaylens.marts``) and Spark (:mod:`gatewaylens.engines.spark`, SQL translated by
:mod:`gatewaylens.engines.sparksql`)."""
