"""``srbench models``, ``promote`` and ``rollback``: the registry's tracks, champions and challengers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from srbench.options import DataDir, fail

Track = Annotated[Optional[str], typer.Option(
    "--track", "-t", envvar="SRBENCH_TRACK", show_envvar=True,
    help="A preset plus dataset: 'div2k', 'quick', 'smoke', or e.g. 'quick@folder-photos' for a preset on "
    "another dataset ('srbench models' lists them).")]
Why = Annotated[Optional[str], typer.Option("--why", help="Why (kept in the registry with your name and the time).")]


def _data_dir(data_dir: str | None) -> str:
    return data_dir if data_dir is not None else "data"


def _fmt(value, digits: int = 2, signed: bool = True) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _verdict_text(verdict: dict | None) -> str:
    if not verdict:
        return ""
    decision = verdict.get("decision") or {}
    cmp = decision.get("comparison") or {}
    kind = verdict["kind"] if verdict["kind"] != "promote" else f"promoted ({verdict.get('rule')})"
    numbers = (f" {_fmt(cmp.get('mean'))} dB [{_fmt(cmp.get('low'))}, {_fmt(cmp.get('high'))}] over {cmp['n']} "
               "images vs the champion" if cmp else "")
    who = f" by {verdict['by']}" if verdict.get("by") else ""
    return f"{kind}{numbers}{who}"


def models(
    data_dir: DataDir = None,
    track: Annotated[Optional[str], typer.Option("--track", "-t", help="Only this track (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry entries as JSON.")] = False,
) -> None:
    """List the registered models per track: the champion ('*') and the challengers, newest first.

    A track is a preset plus a dataset. 'srbench upscale --model NAME' uses NAME's champion of the
    default track ($SRBENCH_TRACK, else the first of div2k, quick, smoke with one); NAME@latest is
    the newest export, NAME@<run_id> the export a run registered. Each line shows the latest verdict
    on an export: the paired Y-PSNR difference vs the champion it was compared with.

    \b
    Examples:
      srbench models --data-dir /mnt/data
      srbench models --track div2k --json
    """
    from sr_core.registry import list_models, track_sort_key
    from sr_core.runrecords import RecordError

    try:
        entries = [e for e in list_models(_data_dir(data_dir)) if track is None or e.track == track]
    except (RecordError, ValueError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    if not entries:
        typer.echo(f"no models registered in {Path(_data_dir(data_dir)) / 'models'}"
                   + (f" on track {track}" if track else "")
                   + "; train one with 'srbench train --model srcnn' or 'srbench run'")
        return
    width = max([11, *(len(e.label) for e in entries)])  # labels carry their variant
    run_width = max([6, *(len(e.run_id or "") for e in entries)])
    for current in sorted({e.track for e in entries}, key=track_sort_key):
        typer.echo(f"track {current}:")
        typer.echo(f"  {'name':<9} {'label':<{width}} {'step':>7}  {'run':<{run_width}}  {'created (UTC)':<25} path")
        for e in (e for e in entries if e.track == current):
            mark = "*" if e.champion else " "
            status = "" if e.status in ("ok", "unverified") else f"  ({e.status})"
            verdict = _verdict_text(e.verdict)
            typer.echo(f"{mark} {e.name:<9} {e.label:<{width}} {e.step:>7}  {e.run_id or '-':<{run_width}}  "
                       f"{(e.created_at or '')[:25]:<25} {e.path}{status}" + (f"\n      {verdict}" if verdict else ""))
    typer.echo("* = champion of its track (what 'srbench upscale --model NAME' uses on that track)")


def _require_track(track: str | None) -> str:
    if not track:
        raise fail("--track is required (or set $SRBENCH_TRACK): say whose champion changes, e.g. --track div2k", 2)
    return track


def promote(
    name: Annotated[str, typer.Argument(help="Model name: srcnn, srresnet or srgan.")],
    run_id: Annotated[str, typer.Argument(help="The run that registered the export ('srbench models').")],
    track: Track = None,
    why: Why = None,
    data_dir: DataDir = None,
) -> None:
    """Make the export of NAME registered by RUN_ID the champion of a track, by hand.

    Recorded in the registry with your user name ($SRBENCH_USER or the login name), the time and
    --why; nothing is overwritten, and 'srbench rollback' undoes it.

    \b
    Example:
      srbench promote srgan div2k-20261125T020000000000Z --track div2k --why "sharper faces"
    """
    from sr_core.registry import ModelNotFoundError
    from sr_core.registry import promote as promote_export
    from sr_core.runrecords import RecordError

    track = _require_track(track)
    try:
        record = promote_export(_data_dir(data_dir), name.lower(), run_id, track, why=why)
    except (ModelNotFoundError, RecordError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{name.lower()} of run {run_id} is now the champion of track {track} "
               f"(was {record.replaces or 'none'}; by {record.by})")


def rollback(
    name: Annotated[str, typer.Argument(help="Model name: srcnn, srresnet or srgan.")],
    track: Track = None,
    why: Why = None,
    data_dir: DataDir = None,
) -> None:
    """Put back the champion NAME had on a track before the current one.

    A second rollback goes one further back. Recorded with your user name, the time and --why.

    \b
    Example:
      srbench rollback srgan --track div2k --why "artefacts on faces"
    """
    from sr_core.registry import ModelNotFoundError, read_view
    from sr_core.registry import rollback as rollback_champion
    from sr_core.runrecords import RecordError

    track = _require_track(track)
    try:
        record = rollback_champion(_data_dir(data_dir), name.lower(), track, why=why)
        entry = read_view(_data_dir(data_dir)).exports[record.to]
    except (ModelNotFoundError, RecordError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"the {name.lower()} champion of track {track} is again run {entry.run_id or '-'} "
               f"({entry.label}, step {entry.step}); {record.path} stays registered as a challenger")


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to ``app``."""
    app.command("models")(models)
    app.command("promote")(promote)
    app.command("rollback")(rollback)
