"""The model catalogue: every method srbench knows, in one place.

A *method* makes an SR image from an LR one. It is either an interpolation baseline (``bicubic``,
``bilinear``: nothing to train) or a learned model with a :class:`ModelSpec`. Every other layer asks
this module instead of spelling model names out: which models exist (:data:`MODEL_NAMES`), what
they are called in reports (:func:`method_label`, with the config's variant), which config section
holds their settings, how they are built and trained, what must be trained first
(:func:`with_prerequisites`), whether they need the VGG19 weights, and how much LR context a tile
needs (:meth:`ModelSpec.receptive_field`).

Adding a model (EDSR, say): write ``sr_core/models/edsr.py`` with ``build_edsr(section, scale, *,
dtype_policy=None)``, add an ``EDSRConfig`` section to :class:`sr_core.config.PipelineConfig` with
the paper's sizes as defaults plus its values in the presets, and add one :class:`ModelSpec` to
:data:`MODELS` below. Nothing else names the model (``tests/test_catalog.py`` checks this).

Importing this module imports neither TensorFlow nor the config: builders are imported when a
model is built, and config sections are read by name.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sr_core.config import PipelineConfig

TrainerKind = Literal["supervised", "adversarial"]

# The settings every model's fingerprint includes besides its own sections.
SHARED_SECTIONS = ("data", "train")
# LR pixels on each side that MATLAB's bicubic kernel reads (4 taps, widened to 5 for the phases).
BICUBIC_RADIUS = 2


@dataclass(frozen=True)
class InterpolationSpec:
    """A fixed interpolation baseline: MATLAB ``imresize`` with ``name`` as the kernel."""

    name: str
    label: str
    learned = False

    def description(self, scale: int) -> str:
        return f"MATLAB imresize x{scale}, {self.name}"


@dataclass(frozen=True)
class ModelSpec:
    """Everything srbench needs to know about one learned model.

    ``name`` is the method name, the config section of the model's own settings (``steps``,
    ``batch_size``, ...), and the folder its exports and checkpoints live in.
    """

    name: str
    label: str  # the base label; :meth:`label_for` adds the config's variant
    builder: str  # "module:function", called as function(cfg.<architecture>, scale, dtype_policy=...)
    architecture: str  # the config section the builder reads (a GAN's generator section)
    trainer: TrainerKind
    variant: Callable[[PipelineConfig], list[str]]  # departures from the seed's architecture
    receptive_radius: Callable[[PipelineConfig], int]  # LR pixels of context one output pixel reads
    requires: tuple[str, ...] = ()  # trained first; the first one's export initialises this model
    content_label: Callable[[PipelineConfig], str] | None = None  # replaces ``label`` (loss variants)
    needs_vgg: Callable[[PipelineConfig], bool] = lambda cfg: False
    variant_note: Callable[[PipelineConfig], str | None] = lambda cfg: None
    learned = True

    @property
    def section(self) -> str:
        return self.name

    def settings(self, cfg: PipelineConfig) -> Any:
        """The model's own config section (``cfg.<name>``)."""
        return getattr(cfg, self.section)

    def steps(self, cfg: PipelineConfig) -> int:
        return int(self.settings(cfg).steps)

    @property
    def fingerprint_sections(self) -> tuple[str, ...]:
        """The config sections that decide a trained model (a prerequisite's sections included)."""
        own = (self.architecture,) if self.architecture == self.section else (self.architecture, self.section)
        return tuple(dict.fromkeys((SHARED_SECTIONS[0], *own, *SHARED_SECTIONS[1:])))

    def label_for(self, cfg: PipelineConfig | None) -> str:
        """How this model is shown: 'SRCNN' for the seed's settings, 'SRResNet (4x32, skip)' etc."""
        if cfg is None:
            return self.label
        base = self.content_label(cfg) if self.content_label else self.label
        parts = self.variant(cfg)
        return f"{base} ({', '.join(parts)})" if parts else base

    def receptive_field(self, cfg: PipelineConfig) -> int:
        """LR pixels on each side an output pixel depends on (an upper bound): the ``tile_pad``
        that makes tiled inference equal whole-image inference."""
        return self.receptive_radius(cfg)

    def build(self, cfg: PipelineConfig, *, dtype_policy: str | None = None):
        """A fresh Keras model (imports TensorFlow)."""
        module, function = self.builder.split(":")
        build = getattr(importlib.import_module(module), function)
        return build(getattr(cfg, self.architecture), cfg.data.scale, dtype_policy=dtype_policy)

    def vgg_weights(self, cfg: PipelineConfig) -> str | None:
        """The VGG19 weights this model's loss needs, None when it needs none.

        Raises ``sr_core.losses.VGGWeightsUnavailable`` with instructions when they are missing, so
        callers can stop a run before any data preparation or training.
        """
        if not self.needs_vgg(cfg):
            return None
        from sr_core.losses import resolve_vgg_weights  # TensorFlow: only when a model needs VGG

        return resolve_vgg_weights(self.settings(cfg))


# --------------------------------------------------------------------------------------------------
# Variants and receptive fields, computed from each architecture's config section. A section's
# defaults are the seed's architecture, so the seed's own settings give the plain label.


def _seed(section: Any) -> Any:
    return type(section)()


def _srcnn_variant(cfg: PipelineConfig) -> list[str]:
    net, seed = cfg.srcnn, _seed(cfg.srcnn)
    parts = ["residual"] if net.residual and not seed.residual else []
    if tuple(net.filters) != tuple(seed.filters):
        parts.append("/".join(map(str, net.filters)))
    if tuple(net.kernel_sizes) != tuple(seed.kernel_sizes):
        parts.append("-".join(map(str, net.kernel_sizes)))
    return parts


def _srcnn_radius(cfg: PipelineConfig) -> int:
    # The convolutions run on the bicubic-upsampled image: their radius in HR pixels, rounded up to
    # whole LR pixels, plus the LR pixels the in-model bicubic reads.
    hr_radius = sum((k - 1) // 2 for k in cfg.srcnn.kernel_sizes)
    return math.ceil(hr_radius / cfg.data.scale) + BICUBIC_RADIUS


def _srresnet_variant(cfg: PipelineConfig) -> list[str]:
    net, seed = cfg.srresnet, _seed(cfg.srresnet)
    parts = []
    if (net.num_blocks, net.filters) != (seed.num_blocks, seed.filters):
        parts.append(f"{net.num_blocks}x{net.filters}")
    if net.bicubic_skip and not seed.bicubic_skip:
        parts.append("skip")
    return parts


def _srresnet_radius(cfg: PipelineConfig) -> int:
    # head 9x9 (4) + two 3x3 per block + trunk 3x3, all at LR size; then one 3x3 per x2
    # pixel-shuffle stage and the 9x9 tail at HR size, each rounded up to whole LR pixels. The
    # bicubic skip (2 LR px) runs in parallel and never exceeds the trunk's reach.
    scale = cfg.data.scale
    stages = max(1, round(math.log2(scale)))
    lr_radius = 4 + 2 * cfg.srresnet.num_blocks + 1
    upsampling = sum(math.ceil(1 / 2**i) for i in range(stages))
    return max(lr_radius + upsampling + math.ceil(4 / scale), BICUBIC_RADIUS)


def _srgan_content_label(cfg: PipelineConfig) -> str:
    return cfg.srgan.label


def _srgan_note(cfg: PipelineConfig) -> str | None:
    loss = cfg.srgan.content_loss
    if loss == type(cfg.srgan)().content_loss:
        return None
    why = (" (srgan.content_loss; the offline presets use pixel MSE because the ImageNet VGG19 "
           "weights cannot be downloaded there)" if loss == "mse" else " (srgan.content_loss)")
    return f"trained with content loss {loss!r} instead of the SRGAN paper's VGG54{why}"


# --------------------------------------------------------------------------------------------------
# The catalogue

INTERPOLATIONS: dict[str, InterpolationSpec] = {
    spec.name: spec for spec in (InterpolationSpec("bicubic", "Bicubic"), InterpolationSpec("bilinear", "Bilinear"))
}

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec(name="srcnn", label="SRCNN", builder="sr_core.models.srcnn:build_srcnn",
              architecture="srcnn", trainer="supervised", variant=_srcnn_variant,
              receptive_radius=_srcnn_radius),
    ModelSpec(name="srresnet", label="SRResNet", builder="sr_core.models.srresnet:build_srresnet",
              architecture="srresnet", trainer="supervised", variant=_srresnet_variant,
              receptive_radius=_srresnet_radius),
    # SRGAN's generator is an SRResNet, started from the MSE-pretrained one.
    ModelSpec(name="srgan", label="SRGAN", builder="sr_core.models.srresnet:build_srresnet",
              architecture="srresnet", trainer="adversarial", variant=_srresnet_variant,
              receptive_radius=_srresnet_radius, requires=("srresnet",),
              content_label=_srgan_content_label, needs_vgg=lambda cfg: cfg.srgan.content_loss != "mse",
              variant_note=_srgan_note),
)}

MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
# What 'srbench upscale' uses without --model: the perceptually strongest model.
DEFAULT_UPSCALE_MODEL = "srgan"
# Its tiles without --tile/--tile-pad (LR pixels): sized for a laptop (BENCHMARKS.md figure 4).
DEFAULT_TILE_SIZE = 128
DEFAULT_TILE_PAD = 24
INTERPOLATION_NAMES: tuple[str, ...] = tuple(INTERPOLATIONS)
METHOD_NAMES: tuple[str, ...] = INTERPOLATION_NAMES + MODEL_NAMES
# Report tables list the weakest baseline first, then the models in catalogue order.
REPORT_ORDER: tuple[str, ...] = ("bilinear", "bicubic", *MODEL_NAMES)


def is_learned(method: str) -> bool:
    return method in MODELS


def is_interpolation(method: str) -> bool:
    return method in INTERPOLATIONS


def model_spec(name: str) -> ModelSpec:
    """The spec of a learned model; a ValueError naming the choices for anything else."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}: choose from {', '.join(MODEL_NAMES)}") from None


def method_spec(method: str) -> InterpolationSpec | ModelSpec:
    """What method ``method`` is: an interpolation or a learned model (``.learned`` tells which)."""
    spec = INTERPOLATIONS.get(method) or MODELS.get(method)
    if spec is None:
        raise ValueError(f"unknown method {method!r}: choose from {', '.join(METHOD_NAMES)}")
    return spec


def method_label(method: str, cfg: PipelineConfig | None = None) -> str:
    """The display label of any method: 'Bicubic', 'SRCNN (residual, 32/16)', or the name itself
    for a method the catalogue does not know (an extra model file). Without ``cfg``, the base label."""
    if method in INTERPOLATIONS:
        return INTERPOLATIONS[method].label
    if method in MODELS:
        return MODELS[method].label_for(cfg)
    return method


def learned_methods(methods: Iterable[str]) -> list[str]:
    """The catalogue's models among ``methods``, in catalogue order."""
    wanted = set(methods)
    return [name for name in MODEL_NAMES if name in wanted]


def with_prerequisites(names: Iterable[str]) -> list[str]:
    """``names`` plus every model they need first, in an order that trains prerequisites first."""
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name not in wanted:
            wanted.add(name)
            for required in model_spec(name).requires:
                add(required)

    for name in names:
        add(name)
    return [name for name in _training_order() if name in wanted]


def check_prerequisites(names: Iterable[str]) -> None:
    """ValueError when a model is asked for without a model it starts from."""
    names = list(names)
    for name in names:
        missing = [r for r in model_spec(name).requires if r not in names]
        if missing:
            raise ValueError(f"training {name} needs {', '.join(missing)} in the same run "
                             f"(it starts from the {missing[0]} export)")


def _training_order() -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in order:
            for required in MODELS[name].requires:
                visit(required)
            order.append(name)

    for name in MODEL_NAMES:
        visit(name)
    return order
