"""Champion and challenger in one run: which exports a benchmark scores, and the promotion verdicts.

A night's models are *challengers*. :func:`with_champions` adds, for every challenger whose track
(preset + dataset) has a champion that is another export, that champion as the method
``<name>@champion``, so both are scored in the same run on the same images. After scoring,
:func:`decide_promotions` applies the promotion rule (:mod:`sr_core.verdict`) to each challenger
and records the verdict in the registry (a promotion or a rejection record with its numbers).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sr_core import catalog, registry
from sr_core.config import PipelineConfig
from sr_core.results import read_metrics
from sr_core.runrecords import RunDir
from sr_core.verdict import CHAMPION_SUFFIX, Decision, champion_method, compare, decide, per_image

log = logging.getLogger(__name__)


def _same(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def models_to_benchmark(cfg: PipelineConfig) -> tuple[dict[str, str], list[str]]:
    """The exports a benchmark without training scores (``srbench evaluate``, the benchmark flow):
    per learned method the newest intact export of the config's track (its latest challenger), else
    the champion of the default track (scored, but never promoted on this track). Returns the models
    and notes saying what was chosen when it was not the track's own."""
    track = registry.track_of(cfg)
    models: dict[str, str] = {}
    notes: list[str] = []
    for name in catalog.learned_methods(cfg.eval.methods):
        try:
            models[name] = str(registry.resolve_model(cfg.data_root, f"{name}@latest", track=track))
            continue
        except registry.ModelNotFoundError:
            pass
        try:
            models[name] = str(registry.resolve_model(cfg.data_root, name))
            notes.append(f"{name}: track {track} has no export of its own; scored the champion of the default "
                         "track instead (no promotion decision)")
        except registry.ModelNotFoundError:
            pass
    return models, notes


def with_champions(cfg: PipelineConfig, models: dict[str, str]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """``models`` plus ``<name>@champion`` for each learned model whose track's champion is another
    export. Also returns, per model name, the champion as it stood (path, run id, track, and whether
    tonight's export is that champion), for run.json and :func:`decide_promotions`."""
    track = registry.track_of(cfg)
    view = registry.read_view(cfg.data_root)
    scored = dict(models)
    champions: dict[str, dict[str, Any]] = {}
    for name, path in models.items():
        if not catalog.is_learned(name):
            continue
        current = view.champion(name, track)
        if current is None:
            champions[name] = {"track": track, "path": None, "run_id": None, "is_challenger": False}
            continue
        champ_path = view.absolute(current.entry.path)
        is_challenger = _same(champ_path, path)
        champions[name] = {"track": track, "path": str(champ_path), "run_id": current.entry.run_id,
                           "label": current.entry.label, "is_challenger": is_challenger,
                           "since": current.since.isoformat(), "first": _first_of_track(current)}
        if is_challenger:
            continue
        if not view.usable(current.entry):
            log.warning("the %s champion of track %s is unusable (%s): not scored tonight", name, track,
                        view.status(current.entry))
            continue
        scored[champion_method(name)] = str(champ_path)
    return scored, champions


def _first_of_track(current: registry.Champion) -> bool:
    return getattr(current.change, "rule", None) == "first"


def decide_promotions(cfg: PipelineConfig, run: RunDir, models: dict[str, str],
                      champions: dict[str, dict[str, Any]]) -> list[Decision]:
    """Apply the promotion rule to every challenger of the config's track scored in ``run`` and
    record each verdict in the registry. Returns the decisions (also for run.json and the report)."""
    track = registry.track_of(cfg)
    view = registry.read_view(cfg.data_root)
    by_path = {view.absolute(e.path).resolve(): e for e in view.entries(track=track)}
    metrics = read_metrics(run.metrics)
    manual = cfg.eval.promotion == "manual"
    decisions = []
    for name, path in models.items():
        if not catalog.is_learned(name) or name.endswith(CHAMPION_SUFFIX):
            continue
        entry = by_path.get(Path(path).resolve())
        if entry is None:  # not an export of this track (another track's champion, a --model file)
            continue
        champ = champions.get(name) or {}
        champ_entry = by_path.get(Path(champ["path"]).resolve()) if champ.get("path") else None
        if champ.get("is_challenger") and champ.get("first") and champ.get("run_id") in (None, run.run_id):
            decisions.append(decide(name, track, None, tolerance_db=cfg.eval.regression_tolerance_db,
                                    has_champion=False, manual=manual))
            continue  # registering it tonight made it the champion already
        comparison = None
        if champion_method(name) in set(metrics["method"]):
            comparison = compare(per_image(metrics, name, dataset=cfg.data.dataset),
                                 per_image(metrics, champion_method(name), dataset=cfg.data.dataset))
        decision = decide(name, track, comparison, tolerance_db=cfg.eval.regression_tolerance_db,
                          has_champion=champ.get("path") is not None,
                          same_export=bool(champ.get("is_challenger")), manual=manual)
        decisions.append(decision)
        if decision.action == "none" or (decision.action == "promote" and not decision.promotes):
            continue
        registry.record_decision(cfg.data_root, entry, decision.as_dict(), promote=decision.promotes,
                                 champion=champ_entry, evaluated_in=run.run_id)
    return decisions
