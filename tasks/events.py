"""Prefect events for alerts: a failed night and a regression beyond tolerance.

Automations (see docs/orchestration.md) match on the event names below and turn them into
notifications, so nobody has to read every report to notice a bad night.
"""

from __future__ import annotations

from typing import Any

from prefect.events import emit_event

from sr_core.results import Regression

RUN_FAILED = "srbench.run.failed"
REGRESSION = "srbench.regression"
RUN_COMPLETED = "srbench.run.completed"
MODEL_PROMOTED = "srbench.model.promoted"
MODEL_REJECTED = "srbench.model.rejected"


def _resource(run_id: str, preset: str) -> dict[str, str]:
    return {
        "prefect.resource.id": f"srbench.run.{run_id}",
        "prefect.resource.name": run_id,
        "srbench.preset": preset,
    }


def emit_run_failed(run_id: str, preset: str, stage: str, error: str, **extra: Any) -> None:
    emit_event(event=RUN_FAILED, resource=_resource(run_id, preset),
               payload={"run_id": run_id, "stage": stage, "error": error, **extra})


def emit_regression(run_id: str, preset: str, regressions: list[Regression], tolerance_db: float,
                    previous_run_id: str | None = None) -> None:
    """One event for the night, listing every method whose PSNR fell by more than the tolerance.

    ``worst_delta_db`` is the largest drop as a (negative) change, the sign the automations expect.
    """
    worst = -max((r.drop_db for r in regressions), default=0.0)
    emit_event(event=REGRESSION, resource=_resource(run_id, preset),
               payload={"run_id": run_id, "previous_run_id": previous_run_id,
                        "tolerance_db": tolerance_db, "worst_delta_db": worst,
                        "regressions": [r.model_dump() for r in regressions]})


def emit_run_completed(run_id: str, preset: str, report: str, means: dict[str, Any]) -> None:
    emit_event(event=RUN_COMPLETED, resource=_resource(run_id, preset),
               payload={"run_id": run_id, "report": report, "means": means})


def emit_verdict(run_id: str, preset: str, decision: dict[str, Any], champion: dict[str, Any]) -> None:
    """``srbench.model.promoted`` / ``srbench.model.rejected`` with the decision and its numbers."""
    event = MODEL_PROMOTED if decision["action"] == "promote" else MODEL_REJECTED
    emit_event(event=event, resource={**_resource(run_id, preset), "srbench.model": decision["name"],
                                      "srbench.track": decision["track"]},
               payload={"run_id": run_id, "model": decision["name"], "track": decision["track"],
                        "champion_run_id": champion.get("run_id"), **decision})
