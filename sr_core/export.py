"""Exported models: a ``.keras`` file plus a JSON sidecar, written atomically, loaded in safe mode.

Layout: ``layout.models_dir(cfg)/<name>/<UTC timestamp>-<model fingerprint>/<name>.keras`` and
``<name>.json`` beside it. The sidecar holds the model name and label, the training step, the full
config, the model and data fingerprints, the final metrics, and the tensorflow/keras/srbench versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sr_core import catalog, layout
from sr_core.atomic import atomic_dir
from sr_core.config import PipelineConfig


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


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    import sr_core

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "srbench": sr_core.__version__}


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The sidecar of a ``.keras`` file (or the sidecar path itself)."""
    path = Path(path)
    sidecar = path.with_suffix(".json") if path.suffix == ".keras" else path
    try:
        return json.loads(sidecar.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no sidecar {sidecar} next to the model; was it exported by srbench?") from None


def find_export(cfg: PipelineConfig, name: str, step: int) -> ExportResult | None:
    """An existing export of this exact model (same fingerprint and step), so reruns don't duplicate."""
    root = layout.models_dir(cfg) / name
    fingerprint = cfg.model_fingerprint(name)
    for folder in sorted(root.glob(f"*-{fingerprint}"), reverse=True):
        keras_file, sidecar = folder / f"{name}.keras", folder / f"{name}.json"
        if keras_file.is_file() and sidecar.is_file():
            meta = read_sidecar(sidecar)
            if meta.get("step") == step:
                return ExportResult(name, meta["label"], keras_file, sidecar, step,
                                    meta.get("metrics", {}), meta.get("seconds", 0.0))
    return None


def export_model(model, cfg: PipelineConfig, name: str, *, step: int, metrics: dict[str, float] | None = None,
                 seconds: float = 0.0) -> ExportResult:
    """Save ``model`` and its sidecar into a new export folder; the folder appears complete or not at all."""
    label = catalog.model_spec(name).label_for(cfg)  # a ValueError for an unknown name
    now = datetime.now(timezone.utc)
    fingerprint = cfg.model_fingerprint(name)
    root = layout.models_dir(cfg) / name
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{fingerprint}"
    sidecar = {
        "name": name, "label": label, "step": int(step), "scale": cfg.data.scale,
        "model_fingerprint": fingerprint, "data_fingerprint": cfg.data_fingerprint(),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()}, "seconds": float(seconds),
        "created_at": now.isoformat(), "versions": _versions(), "keras_file": f"{name}.keras",
        "config": cfg.model_dump(mode="json"),
    }
    with atomic_dir(final) as staging:
        model.save(staging / f"{name}.keras")
        (staging / f"{name}.json").write_text(json.dumps(sidecar, indent=2, sort_keys=True, default=str) + "\n")
    return ExportResult(name, label, final / f"{name}.keras", final / f"{name}.json", int(step),
                        sidecar["metrics"], float(seconds))


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
        raise FileNotFoundError(f"model file {path} does not exist; train one with `srbench train`")
    return keras.saving.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False, safe_mode=True)
