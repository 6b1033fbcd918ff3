"""Placeholder until this figure's benchmark lands."""

from __future__ import annotations

from benchmarks.suite import NOT_MEASURED, Context, Figure

FIGURE_IDS = ["2"]


def run(ctx: Context) -> list[Figure]:
    return [ctx.figure(fid, status=NOT_MEASURED, summary="not measured yet: the benchmark is being written")
            for fid in FIGURE_IDS]
