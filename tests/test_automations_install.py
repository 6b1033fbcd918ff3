"""'srbench automations install --block NAME' creates the documented automations on a real Prefect API."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from helpers_prefect import ensure_prefect_harness
from srbench.cli import app
from srbench.commands.automations import AUTOMATIONS_FILE


@pytest.fixture(scope="module")
def prefect_api(request):
    ensure_prefect_harness(request)


def _names_in_file() -> list[str]:
    return [a["name"] for a in yaml.safe_load(AUTOMATIONS_FILE.read_text())["automations"]]


def test_install_creates_each_automation_once_with_the_block(prefect_api):
    from prefect.blocks.notifications import SlackWebhook
    from prefect.client.orchestration import get_client

    block_id = SlackWebhook(url="https://hooks.slack.invalid/services/T0/B0/X").save(
        "srbench-test-alerts", overwrite=True)
    for _ in range(2):  # a second install replaces, never duplicates
        result = CliRunner().invoke(app, ["automations", "install", "--block", "srbench-test-alerts"])
        assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.output.splitlines()] == _names_in_file()
    with get_client(sync_client=True) as client:
        for name in _names_in_file():
            (automation,) = client.read_automations_by_name(name)
            notify = [a for a in automation.actions if a.type == "send-notification"]
            assert all(str(a.block_document_id) == str(block_id) for a in notify), name
        crashed = client.read_automations_by_name("srbench-flow-run-crashed")[0]
        assert crashed.trigger.expect == {"prefect.flow-run.Crashed"}
        silent = client.read_automations_by_name("srbench-no-nightly-in-26h")[0]
        assert silent.trigger.posture == "Proactive" and silent.trigger.within.total_seconds() == 26 * 3600
        assert silent.trigger.expect == {"prefect.flow-run.Completed"}


def test_an_unknown_block_is_named(prefect_api):
    result = CliRunner().invoke(app, ["automations", "install", "--block", "no-such-block"])
    assert result.exit_code == 1 and "no block named 'no-such-block'" in result.output
