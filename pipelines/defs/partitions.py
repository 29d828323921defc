"""The one daily partitioning shared by every day-grain asset (UTC days, from GATEWAYLENS_START_DATE)."""

from __future__ import annotations

import dagster as dg

from gatewaylens.config import settings

daily = dg.DailyPartitionsDefinition(start_date=settings().start_date.isoformat(), timezone="UTC", end_offset=0)
