"""The one daily partitioning shared by every day-grain asset (UTC days)."""

from __future__ import annotations

import os

import dagster as dg

START_DATE = os.environ.get("GATEWAYLENS_START_DATE", "2025-01-01")

daily = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC", end_offset=0)
