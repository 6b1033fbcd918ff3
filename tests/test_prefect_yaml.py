"""prefect.yaml is what `prefect deploy --all` reads: check it before a server ever sees it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.validation import validate

from sr_core.config import PRESET_NAMES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())


@pytest.fixture(scope="module")
def deployments(project) -> dict[str, dict]:
    return {d["name"]: d for d in project["deployments"]}


def test_expected_deployments_exist(deployments):
    assert {"nightly-div2k", "quick-cpu", "smoke"} <= set(deployments)


def test_every_entrypoint_imports_and_parameters_validate(deployments, monkeypatch):
    monkeypatch.chdir(ROOT)
    for name, deployment in deployments.items():
        path, _, func = deployment["entrypoint"].partition(":")
        assert (ROOT / path).is_file(), f"{name}: entrypoint file {path} missing"
        flow = load_flow_from_entrypoint(deployment["entrypoint"])
        assert flow.fn.__name__ == func
        schema = parameter_schema(flow.fn).model_dump_for_openapi()
        params = deployment.get("parameters") or {}
        errors = validate(params, schema, raise_on_error=False, ignore_required=True)
        assert not errors, f"{name}: parameters {params} do not fit {flow.name}'s signature: {errors}"
        assert set(params) <= set(schema["properties"]), f"{name}: unknown parameters"
        assert params.get("preset") in PRESET_NAMES


def test_schema_rejects_a_wrong_parameter_type(deployments):
    flow = load_flow_from_entrypoint(str(ROOT / "flows/nightly.py") + ":nightly")
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    assert validate({"preset": "smoke", "overrides": "srcnn.steps=5"}, schema, ignore_required=True)
    assert validate({"task_runner": "spark"}, schema, ignore_required=True)
    assert not validate({"preset": "smoke", "overrides": ["srcnn.steps=5"], "task_runner": "dask"},
                        schema, ignore_required=True)


def test_nightly_div2k_is_scheduled_at_two_utc_one_at_a_time_on_gpus(deployments):
    nightly = deployments["nightly-div2k"]
    assert nightly["entrypoint"] == "flows/nightly.py:nightly"
    assert nightly["parameters"]["preset"] == "div2k"
    (schedule,) = nightly["schedules"]
    assert schedule["cron"] == "0 2 * * *" and schedule["timezone"] == "UTC"
    CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])  # raises if invalid
    assert nightly["concurrency_limit"]["limit"] == 1
    assert nightly["concurrency_limit"]["collision_strategy"] == "ENQUEUE"
    assert nightly["work_pool"]["name"] == "gpu-pool"
    assert nightly["work_pool"]["job_variables"]["env"]["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"


def test_quick_cpu_and_smoke_are_unscheduled_cpu_deployments(deployments):
    for name, preset in (("quick-cpu", "quick"), ("smoke", "smoke")):
        assert deployments[name]["parameters"]["preset"] == preset
        assert not deployments[name].get("schedules")
        assert deployments[name]["work_pool"]["name"] == "cpu-pool"


def test_pull_step_switches_into_the_workers_clone(project):
    (step,) = project["pull"]
    directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == "{{ $SRBENCH_PROJECT_DIR }}"
    # Nothing is built or pushed: the only build step reads the commit for the deployments' version.
    (build,) = project["build"]
    assert list(build) == ["prefect.deployments.steps.run_shell_script"]
    assert project["push"] is None


def test_documented_automations_validate_against_prefects_schema():
    import uuid

    from prefect.events.schemas.automations import AutomationCore

    text = (ROOT / "docs" / "orchestration-automations.yaml").read_text()
    data = yaml.safe_load(text.replace("REPLACE_WITH_BLOCK_ID", str(uuid.uuid4())))
    automations = [AutomationCore.model_validate(item) for item in data["automations"]]
    expected = {a.name: sorted(a.trigger.expect) for a in automations}
    assert expected == {"srbench-night-failed": ["srbench.run.failed"],
                        "srbench-regression": ["srbench.regression"],
                        "srbench-crash-zombie-runs": sorted(
                            ["prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                             "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"]),
                        "srbench-flow-run-crashed": ["prefect.flow-run.Crashed"],
                        "srbench-no-nightly-in-26h": ["prefect.flow-run.Completed"]}
    # The crash alert covers exactly the deployments the project defines.
    crashed = next(a for a in automations if a.name == "srbench-flow-run-crashed")
    deployments = {d["name"] for name in ("prefect.yaml", "prefect-docker.yaml")
                   for d in yaml.safe_load((ROOT / name).read_text())["deployments"]}
    assert set(crashed.trigger.match_related["prefect.resource.name"]) == deployments
    silent = next(a for a in automations if a.name == "srbench-no-nightly-in-26h")
    assert silent.trigger.posture == "Proactive" and silent.trigger.within.total_seconds() == 26 * 3600
    assert silent.trigger.match_related["prefect.resource.name"] in ("nightly-div2k", ["nightly-div2k"])
    zombie = next(a for a in automations if a.name == "srbench-crash-zombie-runs")
    assert zombie.trigger.posture == "Proactive" and zombie.trigger.after == {"prefect.flow-run.heartbeat"}
    assert zombie.trigger.for_each == {"prefect.resource.id"}
    assert [(a.type, a.state) for a in zombie.actions] == [("change-flow-run-state", "CRASHED")]
    from tasks.events import REGRESSION, RUN_FAILED

    assert (RUN_FAILED, REGRESSION) == ("srbench.run.failed", "srbench.regression")
