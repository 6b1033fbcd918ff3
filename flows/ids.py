"""Run ids, kept free of Prefect imports so the CLI can name a run before Prefect is configured."""

from __future__ import annotations

import datetime as dt

RUN_ID_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"


def new_run_id(preset: str, now: dt.datetime | None = None) -> str:
    """``<preset>-<UTC timestamp>``, e.g. ``div2k-20261125T020000123456Z``: unique and sortable."""
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return f"{preset}-{now.strftime(RUN_ID_TIME_FORMAT)}"
