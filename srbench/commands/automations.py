"""``srbench automations install``: create the alert automations of docs/orchestration-automations.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from srbench.options import fail

AUTOMATIONS_FILE = Path(__file__).resolve().parents[2] / "docs" / "orchestration-automations.yaml"
BLOCK_PLACEHOLDER = "REPLACE_WITH_BLOCK_ID"

automations_app = typer.Typer(help="Prefect automations that alert on srbench's nights.",
                              no_args_is_help=True)


class AutomationsError(ValueError):
    """The automations file or the notification block is not usable."""


def _find_block(client: Any, block: str) -> Any:
    """The block document named ``block`` (or ``TYPE-SLUG/NAME``); one, or a clear error."""
    slug, _, name = block.rpartition("/")
    found = [doc for doc in client.read_block_documents()
             if doc.name == name and (not slug or (doc.block_type and doc.block_type.slug == slug))]
    if not found:
        raise AutomationsError(
            f"no block named {block!r} on this Prefect server ({client.api_url}); save one first, e.g. "
            "SlackWebhook(url=...).save('srbench-alerts') (see docs/orchestration-automations.yaml)")
    if len(found) > 1:
        kinds = ", ".join(sorted(f"{d.block_type.slug}/{d.name}" for d in found if d.block_type))
        raise AutomationsError(f"several blocks are named {name!r} ({kinds}): name one as TYPE/NAME")
    return found[0]


def load_automations(text: str, block_id: str) -> list[Any]:
    """The automations of the file with the block's id filled in, validated by Prefect's schema."""
    from pydantic import ValidationError
    from prefect.events.schemas.automations import AutomationCore

    data = yaml.safe_load(text.replace(BLOCK_PLACEHOLDER, block_id)) or {}
    out = []
    for item in data.get("automations") or []:
        try:
            out.append(AutomationCore.model_validate(item))
        except ValidationError as exc:
            raise AutomationsError(f"automation {item.get('name', '?')!r} is not valid: {exc}") from None
    if not out:
        raise AutomationsError("the automations file lists no automations")
    return out


def install_automations(client: Any, text: str, block: str) -> list[tuple[str, str]]:
    """Create every automation (replacing those of the same name); ``(name, id)`` of each."""
    block_doc = _find_block(client, block)
    automations = load_automations(text, str(block_doc.id))
    installed = []
    for automation in automations:
        for old in client.read_automations_by_name(automation.name):
            client.delete_automation(old.id)
        installed.append((automation.name, str(client.create_automation(automation))))
    return installed


@automations_app.command("install")
def install(
    block: Annotated[str, typer.Option("--block", "-b", metavar="NAME",
                                       help="The notification block the alerts go to (its name, or "
                                       "TYPE/NAME such as slack-webhook/srbench-alerts).")],
    file: Annotated[Path, typer.Option("--file", "-f", dir_okay=False, exists=True,
                                       help="The automations file.")] = AUTOMATIONS_FILE,
) -> None:
    """Create the srbench automations on the Prefect server in PREFECT_API_URL.

    Installs every automation of docs/orchestration-automations.yaml: failed night, regression,
    zombie runs (no heartbeat), crashed flow runs of srbench deployments, and no completed
    nightly-div2k in 26 hours. Each is validated against Prefect's own schema first; an automation
    of the same name is replaced, so rerunning after an edit is safe.

    \b
    Example:
      srbench automations install --block srbench-alerts
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        try:
            installed = install_automations(client, file.read_text(), block)
        except AutomationsError as exc:
            raise fail(str(exc)) from None
    for name, automation_id in installed:
        typer.echo(f"installed {name} ({automation_id})")


def register(app: typer.Typer) -> None:
    """Add ``srbench automations ...`` to ``app``."""
    app.add_typer(automations_app, name="automations")
