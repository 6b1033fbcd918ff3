"""Exported models: a ``.keras`` file plus a JSON sidecar, written atomically, loaded in safe mode.

Layout: ``layout.models_dir(cfg)/<name>/<UTC timestamp>-<model fingerprint>/<name>.keras`` and
``<name>.json`` beside it. The sidecar (:class:`sr_core.runrecords.ExportSidecar`) holds the model name
and label, the training step, the full config, the model and data fingerprints, the final metrics, the
tensorflow/keras/srbench versions, and the ``.keras`` file's sha256 and size (checked before reuse).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sr_core import __version__, catalog, layout
from sr_core.atomic import atomic_dir
from sr_core.config import PipelineConfig
from sr_core.provenance import Provenance, collect
from sr_core.runrecords import ExportSidecar, RecordError, file_digest, read_record, write_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    """What one training run produced."""

    name: str
    label: str
    path: Path
    sidecar: Path
    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    run_id: str | None = None  # the run that trained it
    origin: str = "trained"  # or "reused": an identical earlier export stands in (--reuse-models)
    steps_trained: int | None = None  # steps trained by this run (resumed ones included)
    seconds_trained: float | None = None
    resumed_from_step: int | None = None
    init: str | None = None  # "scratch", "champion <run id>", "<model> <run id>"


def framework_versions() -> dict[str, str]:
    """The TensorFlow and Keras versions a model is trained and saved with (imports TensorFlow)."""
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__}


def _versions() -> dict[str, str]:
    return {**framework_versions(), "srbench": __version__}


def sidecar_path(path: str | Path) -> Path:
    """The sidecar of a ``.keras`` file (or the sidecar path itself)."""
    path = Path(path)
    return path.with_suffix(".json") if path.suffix == ".keras" else path


def read_sidecar(path: str | Path) -> ExportSidecar:
    """The validated sidecar of a ``.keras`` file (or of the sidecar path itself)."""
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        raise RecordError(sidecar, "no sidecar next to the model; was it exported by srbench?")
    return read_record(sidecar, ExportSidecar, "model sidecar")


def export_problem(keras_file: str | Path, meta: ExportSidecar) -> str | None:
    """Why an export cannot be trusted (missing, or not the file its sidecar describes); None if fine.

    Exports from before checksums were recorded are "unverified": returned as None here, and
    :func:`find_export` does not reuse them.
    """
    keras_file = Path(keras_file)
    if not keras_file.is_file():
        return "file missing"
    if meta.keras_size is not None and keras_file.stat().st_size != meta.keras_size:
        return f"size {keras_file.stat().st_size} bytes, the sidecar says {meta.keras_size} (truncated?)"
    if meta.keras_sha256 is not None and file_digest(keras_file)[0] != meta.keras_sha256:
        return "checksum differs from the sidecar's (damaged or replaced)"
    return None


def find_export(cfg: PipelineConfig, name: str, step: int, run_id: str | None = None) -> ExportResult | None:
    """An existing, intact export of this exact model (same fingerprint and step) made by the same run
    (``run_id``; None: by ``srbench train``), so a rerun of that run doesn't duplicate it. An export
    whose file does not match its sidecar's checksum is never reused."""
    root = layout.models_dir(cfg) / name
    fingerprint = cfg.model_fingerprint(name)
    for folder in sorted(root.glob(f"*-{fingerprint}"), reverse=True):
        keras_file, sidecar = folder / f"{name}.keras", folder / f"{name}.json"
        if not (keras_file.is_file() and sidecar.is_file()):
            continue
        try:
            meta = read_sidecar(sidecar)
        except RecordError as exc:
            log.warning("not reusing %s: %s", keras_file, exc)
            continue
        if meta.step != step or meta.run_id != run_id:
            continue
        problem = export_problem(keras_file, meta) or (None if meta.keras_sha256 else "no checksum recorded")
        if problem:
            log.warning("not reusing the export %s: %s; exporting again", keras_file, problem)
            continue
        return ExportResult(name, meta.label, keras_file, sidecar, step, meta.metrics, meta.seconds,
                            run_id=meta.run_id)
    return None


def export_model(model, cfg: PipelineConfig, name: str, *, step: int, metrics: dict[str, float] | None = None,
                 seconds: float = 0.0, run_id: str | None = None, provenance: Provenance | None = None,
                 init: dict | None = None, prefect: dict | None = None) -> ExportResult:
    """Save ``model`` and its sidecar into a new export folder; the folder appears complete or not at all.

    The sidecar records what made the model: the run, ``provenance`` (collected now when None), the
    preset, config and data fingerprints, the export it started from (``init``) and the Prefect ids.
    """
    label = catalog.model_spec(name).label_for(cfg)  # a ValueError for an unknown name
    now = datetime.now(timezone.utc)
    fingerprint = cfg.model_fingerprint(name)
    root = layout.models_dir(cfg) / name
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{fingerprint}"
    with atomic_dir(final) as staging:
        model.save(staging / f"{name}.keras")
        sha256, size = file_digest(staging / f"{name}.keras")
        sidecar = ExportSidecar(
            name=name, label=label, step=int(step), scale=cfg.data.scale, model_fingerprint=fingerprint,
            data_fingerprint=cfg.data_fingerprint(), metrics={k: float(v) for k, v in (metrics or {}).items()},
            seconds=float(seconds), created_at=now.isoformat(), versions=_versions(),
            keras_file=f"{name}.keras", keras_sha256=sha256, keras_size=size,
            config=cfg.model_dump(mode="json"), run_id=run_id, preset=cfg.preset,
            config_fingerprint=cfg.fingerprint(), provenance=provenance or collect(), init=init,
            prefect=prefect or {})
        write_record(staging / f"{name}.json", sidecar)
    return ExportResult(name, label, final / f"{name}.keras", final / f"{name}.json", int(step),
                        sidecar.metrics, float(seconds), run_id=run_id)


def load_model(path: str | Path):
    """Load an exported ``.keras`` model in Keras safe mode (no Lambda layers, no pickles)."""
    import keras

    from sr_core.models.layers import CUSTOM_OBJECTS

    path = Path(path)
    if path.is_dir():
        candidates = sorted(path.glob("*.keras"))
        if len(candidates) != 1:
            raise FileNotFoundError(f"{path} holds {len(candidates)} .keras files; give the file itself")
        path = candidates[0]
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    return keras.saving.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False, safe_mode=True)
