"""The one typed configuration of srbench, with named presets.

A :class:`PipelineConfig` is built from a preset (``smoke``, ``quick``, ``div2k``) and optional
``key.path=value`` overrides, e.g. ``srcnn.steps=500`` or ``data.dataset=folder:/photos``.
Fingerprints hash the parts of the config that decide an artifact, so a changed setting writes a new
artifact directory while paths and cosmetic settings do not.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sr_core import catalog

PRESET_NAMES = ("smoke", "quick", "div2k")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """Where images come from and how patches are cut."""

    dataset: str = Field(
        "sample",
        description="'div2k' (tfds div2k/bicubic_x4), 'sample' (scikit-image photos), "
        "'folder:HR_DIR' or 'folder:HR_DIR,LR_DIR'",
    )
    scale: int = Field(4, ge=2, le=8)
    hr_patch_size: int = Field(96, ge=8, description="HR patch side; the LR patch is hr_patch_size/scale")
    patches_per_image: int = Field(16, ge=1, description="training patches cut from each train image")
    val_patches_per_image: int = Field(4, ge=0, description="held-out validation patches per image")
    max_train_images: int | None = Field(None, ge=1)
    max_val_images: int | None = Field(None, ge=1)
    flat_patch_std: float = Field(
        0.0, ge=0, description="reject patches whose HR gray std is below this (0 keeps all)"
    )
    num_shards: int = Field(4, ge=1)
    compression: Literal["gzip", "none"] = Field(
        "gzip", description="TFRecord shards: 'gzip' (~1/3 smaller on photos) or 'none' (2-4x faster to read; "
        "BENCHMARKS.md figure 1); decides the patch folder, not the models")
    seed: int = 0

    def fingerprint_payload(self) -> dict[str, Any]:
        """What of this section decides a trained model: the patches' content, not their encoding."""
        return self.model_dump(mode="json", exclude={"compression"})

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if value in ("div2k", "sample") or (value.startswith("folder:") and len(value) > 7):
            return value
        raise ValueError(
            f"unknown dataset {value!r}: use 'div2k', 'sample' or 'folder:PATH' (optionally 'folder:HR,LR')"
        )

    @model_validator(mode="after")
    def _patch_divisible(self) -> DataConfig:
        if self.hr_patch_size % self.scale:
            raise ValueError(
                f"hr_patch_size {self.hr_patch_size} is not a multiple of scale {self.scale}"
            )
        return self

    @property
    def lr_patch_size(self) -> int:
        return self.hr_patch_size // self.scale


class ScheduleConfig(_Section):
    """A learning-rate schedule: constant, cosine decay to ``final_fraction``, or step decay."""

    kind: Literal["constant", "cosine", "step"] = "constant"
    initial: float = Field(1e-3, gt=0)
    warmup_steps: int = Field(0, ge=0)
    final_fraction: float = Field(0.0, ge=0, le=1, description="cosine: final lr / initial lr")
    boundaries: list[int] = Field(default_factory=list, description="step: steps where lr is multiplied by factor")
    factor: float = Field(0.1, gt=0)


class SRCNNConfig(_Section):
    """SRCNN (9-5-5) on the bicubic-upsampled LR; the seed's sizes are the defaults."""

    filters: tuple[int, int] = (128, 64)
    kernel_sizes: tuple[int, int, int] = (9, 5, 5)
    residual: bool = Field(False, description="global residual: output = bicubic(LR) + network")
    steps: int = Field(1000, ge=1)
    batch_size: int = Field(16, ge=1)
    lr: ScheduleConfig = Field(default_factory=ScheduleConfig)


class SRResNetConfig(_Section):
    """SRGAN's generator (SRResNet), pretrained with MSE; the seed's sizes are the defaults."""

    num_blocks: int = Field(5, ge=1, description="residual blocks (seed 5, SRGAN paper 16)")
    filters: int = Field(64, ge=1)
    bicubic_skip: bool = Field(False, description="add bicubic(LR) to the output (global skip)")
    steps: int = Field(1000, ge=1)
    batch_size: int = Field(16, ge=1)
    lr: ScheduleConfig = Field(default_factory=lambda: ScheduleConfig(initial=1e-4))


class SRGANConfig(_Section):
    """Adversarial phase, started from the pretrained SRResNet."""

    content_loss: Literal["vgg54", "vgg22", "mse"] = Field(
        "vgg54", description="VGG19 features (block5_conv4 / block2_conv2) or pixel MSE (SRGAN-MSE)"
    )
    vgg_weights: str | None = Field(
        None,
        description="local VGG19 notop weights file for offline workers "
        "(env SRBENCH_VGG19_WEIGHTS); default downloads ImageNet weights via Keras",
    )
    adversarial_weight: float = Field(1e-3, ge=0)
    discriminator_filters: int = Field(64, ge=1)
    discriminator_dense: int = Field(1024, ge=1)
    steps: int = Field(1000, ge=1)
    batch_size: int = Field(8, ge=1)
    generator_lr: ScheduleConfig = Field(default_factory=lambda: ScheduleConfig(initial=1e-4))
    discriminator_lr: ScheduleConfig = Field(default_factory=lambda: ScheduleConfig(initial=1e-4))

    @property
    def label(self) -> str:
        """How this variant is named in reports: 'SRGAN' or 'SRGAN-MSE' etc."""
        return "SRGAN" if self.content_loss == "vgg54" else f"SRGAN-{self.content_loss.upper()}"


class TrainConfig(_Section):
    """Settings shared by every training run."""

    checkpoint_every: int = Field(100, ge=1)
    log_every: int = Field(10, ge=1)
    validate_every: int = Field(100, ge=1)
    val_patches: int = Field(32, ge=1, description="held-out patches used for periodic validation PSNR")
    shuffle_buffer: int = Field(1024, ge=1)
    mixed_precision: bool = False
    jit_compile: bool = False
    distribute: bool = Field(False, description="tf.distribute.MirroredStrategy over all visible GPUs")
    seed: int = 0
    init: Literal["scratch", "champion"] = Field(
        "scratch", description="each night starts from random weights (scratch) or warm-starts from the "
        "track's current champion export of the model (champion)")
    keep_runs: int = Field(3, ge=1, description="nights whose checkpoint folders are kept; older ones are "
                           "pruned when a night starts (the running night's never)")

    def fingerprint_payload(self) -> dict[str, Any]:
        """What of this section decides a trained model: not the retention setting, and ``init`` only
        when it warm-starts (so exports made before the field existed keep their fingerprints)."""
        payload = self.model_dump(mode="json", exclude={"keep_runs"})
        if payload["init"] == "scratch":
            del payload["init"]
        return payload


class CropSpec(_Section):
    """A named region of one validation image, in HR pixels."""

    name: str
    image_id: str
    top: int = Field(ge=0)
    left: int = Field(ge=0)
    height: int = Field(gt=0)
    width: int = Field(gt=0)


class EvalConfig(_Section):
    """What is upscaled and scored, and how the report judges it."""

    methods: list[str] = Field(
        default_factory=lambda: ["bicubic", "bilinear", "srcnn", "srresnet", "srgan"]
    )
    max_images: int | None = Field(None, ge=1)
    crops: list[CropSpec] = Field(default_factory=list)
    auto_crops: int = Field(2, ge=0, description="crops per image placed where HR detail is highest")
    auto_crop_size: int = Field(96, ge=8)
    tile_size: int = Field(128, ge=8, description="LR tile side for whole-image inference: no tile window "
                           "holds more pixels than this square grown by tile_pad (bounds memory)")
    tile_pad: int = Field(24, ge=0, description="LR context around each tile, cropped after inference")
    chunk_size: int = Field(8, ge=1, description="validation images per upscale-and-score task")
    regression_tolerance_db: float = Field(0.1, ge=0, description="Y-PSNR (dB) a model may lose, on average, "
                                           "against the champion (promotion) or the previous comparable night "
                                           "(regression alert); see docs/lifecycle.md")
    promotion: Literal["auto", "manual"] = Field(
        "auto", description="auto: the promotion rule replaces a track's champion; manual: its verdict is "
        "recorded and only 'srbench promote' changes a champion (the first model of a track still is one)")
    extra_sets: list[str] = Field(
        default_factory=list, description="further benchmark sets scored for every method, each "
        "'folder:HR' or 'folder:HR,LR' (e.g. folder:../shared/datasets/Set5); never used for tuning")

    @field_validator("extra_sets")
    @classmethod
    def _folder_specs(cls, value: list[str]) -> list[str]:
        for spec in value:
            if not spec.startswith("folder:") or not spec[len("folder:"):].strip():
                raise ValueError(f"eval.extra_sets entry {spec!r} is not 'folder:HR' or 'folder:HR,LR'")
        return value


def default_scratch_dir() -> Path:
    """Local scratch when the data dir is shared: ``$SRBENCH_SCRATCH_DIR`` or ``~/.cache/srbench``."""
    if os.environ.get("SRBENCH_SCRATCH_DIR"):
        return Path(os.environ["SRBENCH_SCRATCH_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "srbench"


def _is_url(root: Any) -> bool:
    return root is not None and "://" in str(root)


class PipelineConfig(_Section):
    """Everything one srbench run needs. The roots never enter fingerprints.

    ``data_dir`` and ``reports_dir`` are always local folders: the work happens there. When the
    data or reports root is shared (an fsspec URL such as ``s3://bucket/srbench/data``, or a local
    data dir with a separate ``$SRBENCH_SCRATCH_DIR``), the URL is kept in ``data_url`` /
    ``reports_url``, the local folder becomes the scratch dir (``reports_dir`` = scratch/reports),
    and what the team shares is published there (see docs/shared-state.md).
    """

    preset: str = "custom"
    data_dir: Path = Field(default_factory=lambda: Path("data"))
    reports_dir: Path = Field(default_factory=lambda: Path("reports"))
    data_url: str | None = Field(None, description="shared root of the model registry and exports")
    reports_url: str | None = Field(None, description="shared root of run folders, history and index")
    reports_public_url: str | None = Field(
        default_factory=lambda: os.environ.get("SRBENCH_REPORTS_URL") or None,
        description="public base URL of the reports root (https://bucket.../reports); links use it")
    require_gpu: bool = Field(False, description="stop before any work when TensorFlow sees no GPU "
                              "(the div2k preset; --allow-cpu turns it off)")
    data: DataConfig = Field(default_factory=DataConfig)
    srcnn: SRCNNConfig = Field(default_factory=SRCNNConfig)
    srresnet: SRResNetConfig = Field(default_factory=SRResNetConfig)
    srgan: SRGANConfig = Field(default_factory=SRGANConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)

    @model_validator(mode="before")
    @classmethod
    def _split_shared_roots(cls, values: Any) -> Any:
        """A URL root (or a local data dir with its own scratch) becomes: shared URL + local work dir."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        data = values.get("data_dir") or os.environ.get("SRBENCH_DATA_DIR") or "data"
        reports = values.get("reports_dir") or os.environ.get("SRBENCH_REPORTS_DIR") or "reports"
        scratch_env = os.environ.get("SRBENCH_SCRATCH_DIR")
        if _is_url(data):
            values["data_url"], values["data_dir"] = str(data), default_scratch_dir()
        elif (scratch_env and not values.get("data_url")
              and Path(scratch_env).expanduser().resolve() != Path(data).expanduser().resolve()):
            values["data_url"], values["data_dir"] = str(Path(data).expanduser().resolve()), default_scratch_dir()
        else:
            values["data_dir"] = data
        if _is_url(reports):
            values["reports_url"], values["reports_dir"] = str(reports), Path(values["data_dir"]) / "reports"
        else:
            values["reports_dir"] = reports
        return values

    @property
    def data_root(self) -> str:
        """Where the shared data (registry, exports) lives: the URL, or the local data dir."""
        return self.data_url or str(self.data_dir)

    @property
    def reports_root(self) -> str:
        """Where the published run folders, history and index live: the URL, or the local reports dir."""
        return self.reports_url or str(self.reports_dir)

    def fingerprint(self, *sections: str) -> str:
        """12-hex-digit hash of the named sections (all but paths when none are named)."""
        names = sections or ("data", *catalog.MODEL_NAMES, "train", "eval")
        payload = {name: _fingerprint_payload(getattr(self, name)) for name in names}
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def data_fingerprint(self) -> str:
        """The patch folder's identity: the data section, plus the shard encoding when not gzip (so
        folders made before the setting existed keep their names)."""
        base = self.fingerprint("data")
        if self.data.compression == "gzip":
            return base
        return hashlib.sha256(f"{base}:{self.data.compression}".encode()).hexdigest()[:12]

    def model_fingerprint(self, model: str) -> str:
        """What decides a trained model: the data, its sections and the shared train settings.

        A model built on another's architecture (SRGAN on SRResNet) includes that section too.
        """
        return self.fingerprint(*catalog.model_spec(model).fingerprint_sections)


def _fingerprint_payload(section: BaseModel) -> dict[str, Any]:
    payload = getattr(section, "fingerprint_payload", None)
    return payload() if payload is not None else section.model_dump(mode="json")


# --------------------------------------------------------------------------------------------------
# Presets

# The seed's visual-comparison crops on the DIV2K validation split. The seed addresses images by
# their 0-based position in tfds' validation split, which is NOT 0801 + i: tfds stores examples in
# md5(split + key) order and the default read interleaves 4 shards of 25 (see docs/data.md, "DIV2K
# ids"; recomputed with sources.div2k_id_order). _SEED_INDEX_TO_ID maps the indices the seed used.
_SEED_INDEX_TO_ID = {3: "0803", 6: "0878", 8: "0828", 12: "0900", 15: "0846", 24: "0887", 32: "0879"}
_SEED_DIV2K_CROPS: list[tuple[int, int, int, int, int]] = [
    (6, 400, 500, 200, 200), (6, 300, 1200, 200, 200), (6, 0, 1000, 200, 200),
    (12, 700, 1090, 200, 350), (15, 600, 1500, 200, 350), (8, 900, 1500, 200, 350),
    (24, 700, 1300, 200, 350), (32, 800, 1300, 200, 350),
    (24, 620, 570, 150, 250), (3, 700, 1500, 150, 250),
]


def _seed_div2k_crops() -> list[CropSpec]:
    crops = []
    for n, (index, top, left, height, width) in enumerate(_SEED_DIV2K_CROPS):
        image_id = _SEED_INDEX_TO_ID[index]
        crops.append(CropSpec(name=f"seed{n + 1}", image_id=image_id, top=top, left=left,
                              height=height, width=width))
    return crops


# The seed's chelsea demo crops: crop(image, (row, col), x=50, y=100) -> 50 rows x 100 columns.
_CHELSEA_CROPS = [CropSpec(name=f"seed-chelsea{n + 1}", image_id="chelsea", top=t, left=l, height=50, width=100)
                  for n, (t, l) in enumerate([(220, 200), (90, 120), (30, 200)])]


def _smoke() -> dict[str, Any]:
    return {
        "preset": "smoke",
        "data": {"dataset": "sample", "hr_patch_size": 32, "patches_per_image": 4,
                 "val_patches_per_image": 4, "max_train_images": 2, "max_val_images": 1,
                 "num_shards": 2},
        "srcnn": {"filters": (16, 8), "kernel_sizes": (9, 5, 5), "residual": True, "steps": 4,
                  "batch_size": 4},
        "srresnet": {"num_blocks": 1, "filters": 8, "bicubic_skip": True, "steps": 4, "batch_size": 4},
        "srgan": {"content_loss": "mse", "discriminator_filters": 8, "discriminator_dense": 16,
                  "steps": 3, "batch_size": 4},
        "train": {"checkpoint_every": 2, "log_every": 1, "validate_every": 2, "val_patches": 4,
                  "shuffle_buffer": 16},
        "eval": {"max_images": 1, "auto_crops": 1, "auto_crop_size": 32, "tile_size": 64,
                 "tile_pad": 16, "chunk_size": 1, "crops": [c.model_dump() for c in _CHELSEA_CROPS]},
    }


def _quick() -> dict[str, Any]:
    # Tuned so that the whole nightly flow fits in 15 minutes on a 2-core CPU, offline. The
    # departures from the seed (residual SRCNN, bicubic skip, smaller nets, MSE content loss) are
    # named config options and are shown in the report.
    return {
        "preset": "quick",
        "data": {"dataset": "sample", "hr_patch_size": 64, "patches_per_image": 64,
                 "val_patches_per_image": 16, "flat_patch_std": 2.0, "num_shards": 4},
        # Measured curves behind these values: docs/training.md ("Presets", "Measurements").
        "srcnn": {"filters": (32, 16), "kernel_sizes": (9, 5, 5), "residual": True, "steps": 800,
                  "batch_size": 16,
                  "lr": {"kind": "cosine", "initial": 1e-3, "warmup_steps": 20, "final_fraction": 0.05}},
        "srresnet": {"num_blocks": 4, "filters": 32, "bicubic_skip": True, "steps": 500, "batch_size": 16,
                     "lr": {"kind": "cosine", "initial": 3e-4, "warmup_steps": 40, "final_fraction": 0.05}},
        "srgan": {"content_loss": "mse", "discriminator_filters": 16, "discriminator_dense": 64,
                  "steps": 150, "batch_size": 8,
                  "generator_lr": {"initial": 5e-5}, "discriminator_lr": {"initial": 1e-4}},
        "train": {"checkpoint_every": 100, "log_every": 25, "validate_every": 100, "val_patches": 32},
        "eval": {"auto_crops": 2, "auto_crop_size": 96, "crops": [c.model_dump() for c in _CHELSEA_CROPS]},
    }


def _div2k() -> dict[str, Any]:
    # The seed's networks and settings, with training budgets for GPU workers.
    return {
        "preset": "div2k",
        "require_gpu": True,  # days of training: a worker without a GPU stops at once (--allow-cpu)
        "data": {"dataset": "div2k", "hr_patch_size": 96, "patches_per_image": 128,
                 "val_patches_per_image": 4, "flat_patch_std": 2.0, "num_shards": 32,
                 "compression": "none"},  # GPU steps outrun inflating GZIP shards (BENCHMARKS.md figure 1)
        "srcnn": {"filters": (128, 64), "kernel_sizes": (9, 5, 5), "residual": False,
                  "steps": 100_000, "batch_size": 16,
                  "lr": {"kind": "step", "initial": 1e-3, "boundaries": [60_000, 90_000]}},
        "srresnet": {"num_blocks": 5, "filters": 64, "bicubic_skip": False, "steps": 100_000,
                     "batch_size": 16, "lr": {"kind": "step", "initial": 1e-4, "boundaries": [60_000]}},
        "srgan": {"content_loss": "vgg54", "steps": 50_000, "batch_size": 8,
                  "generator_lr": {"kind": "step", "initial": 1e-4, "boundaries": [25_000]},
                  "discriminator_lr": {"kind": "step", "initial": 1e-4, "boundaries": [25_000]}},
        "train": {"checkpoint_every": 1000, "log_every": 100, "validate_every": 1000,
                  "val_patches": 256, "shuffle_buffer": 8192, "mixed_precision": True,
                  "jit_compile": True, "distribute": True},
        "eval": {"auto_crops": 2, "auto_crop_size": 200, "tile_size": 256, "tile_pad": 24,
                 "chunk_size": 10, "crops": [c.model_dump() for c in _seed_div2k_crops()]},
    }


_PRESETS = {"smoke": _smoke, "quick": _quick, "div2k": _div2k}


def parse_override(item: str) -> tuple[list[str], Any]:
    """Parse ``a.b=value``; the value is read as JSON when it parses (numbers, bools, lists)."""
    if "=" not in item:
        raise ValueError(f"override {item!r} is not KEY=VALUE (e.g. srcnn.steps=500)")
    key, raw = item.split("=", 1)
    path = [part for part in key.strip().split(".") if part]
    if not path:
        raise ValueError(f"override {item!r} has an empty key")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return path, value


def _apply(tree: dict[str, Any], path: list[str], value: Any, item: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ValueError(f"override {item!r}: {part!r} is not a section")
        node = child
    node[path[-1]] = value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A config file: YAML (or JSON) with ``preset`` and any sections to change, e.g.::

        preset: div2k
        srcnn: {steps: 20000}
        eval: {regression_tolerance_db: 0.05}

    Returns the tree (``preset`` included when given); problems name the file.
    """
    import yaml

    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"config file {path} cannot be read: {exc}") from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise ValueError(f"config file {path} must be a mapping (preset: ..., srcnn: {{steps: ...}}), "
                         f"not a {type(tree).__name__}")
    if "preset" in tree and tree["preset"] not in _PRESETS:
        raise ValueError(f"config file {path}: unknown preset {tree['preset']!r}; choose one of "
                         f"{', '.join(PRESET_NAMES)}")
    return tree


def load_config(
    preset: str = "quick",
    overrides: list[str] | tuple[str, ...] = (),
    *,
    dataset: str | None = None,
    data_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    extra: dict[str, Any] | None = None,
) -> PipelineConfig:
    """Build a config from a preset, then ``extra`` (nested dict), then ``key=value`` overrides."""
    if preset not in _PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(PRESET_NAMES)}")
    tree = _PRESETS[preset]()
    if extra:
        tree = _merge(tree, extra)
    if dataset is not None:
        tree.setdefault("data", {})["dataset"] = dataset
    if data_dir is not None:
        tree["data_dir"] = str(data_dir)
    if reports_dir is not None:
        tree["reports_dir"] = str(reports_dir)
    for item in overrides:
        path, value = parse_override(item)
        _apply(tree, path, value, item)
    return PipelineConfig.model_validate(tree)


def resolve_config(preset: str, overrides: list[str] | None, config: PipelineConfig | dict | None) -> PipelineConfig:
    """A flow's config from its parameters: a full ``config`` wins; otherwise ``preset`` plus
    ``key=value`` overrides (applied on top of ``config`` too when both are given)."""
    if config is not None:
        cfg = config if isinstance(config, PipelineConfig) else PipelineConfig.model_validate(config)
        if overrides:
            preset_name = cfg.preset if cfg.preset in _PRESETS else "quick"
            # Re-apply the overrides on top of the given config (load_config merges 'extra' first).
            return load_config(preset_name, overrides, extra=cfg.model_dump(mode="json"))
        return cfg
    return load_config(preset, overrides or [])
