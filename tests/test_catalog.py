"""The model catalogue: labels with variants, prerequisites, fingerprints, receptive fields, and the
rule that no module outside the allow-list names a model."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import numpy as np
import pytest

from sr_core import catalog
from sr_core.config import PipelineConfig, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_seed_settings_give_plain_labels_and_variants_carry_their_departures():
    div2k, quick, smoke = load_config("div2k"), load_config("quick"), load_config("smoke")
    assert [catalog.method_label(m, div2k) for m in catalog.METHOD_NAMES] == [
        "Bicubic", "Bilinear", "SRCNN", "SRResNet", "SRGAN"]
    assert [catalog.method_label(m, quick) for m in catalog.MODEL_NAMES] == [
        "SRCNN (residual, 32/16)", "SRResNet (4x32, skip)", "SRGAN-MSE (4x32, skip)"]
    assert [catalog.method_label(m, smoke) for m in catalog.MODEL_NAMES] == [
        "SRCNN (residual, 16/8)", "SRResNet (1x8, skip)", "SRGAN-MSE (1x8, skip)"]
    paper = load_config("div2k", ["srresnet.num_blocks=16", "srcnn.kernel_sizes=[9,1,5]"])
    assert catalog.method_label("srresnet", paper) == "SRResNet (16x64)"
    assert catalog.method_label("srcnn", paper) == "SRCNN (9-1-5)"
    assert catalog.method_label("srgan", load_config("div2k", ["srgan.content_loss=mse"])) == "SRGAN-MSE"
    # Without a config, and for methods the catalogue does not know.
    assert catalog.method_label("srresnet") == "SRResNet"
    assert catalog.method_label("mynet") == "mynet"


def test_prerequisites_are_added_and_ordered_first():
    assert catalog.with_prerequisites(["srgan"]) == ["srresnet", "srgan"]
    assert catalog.with_prerequisites(["srgan", "srcnn"]) == ["srcnn", "srresnet", "srgan"]
    assert catalog.with_prerequisites([]) == []
    catalog.check_prerequisites(["srresnet", "srgan"])
    with pytest.raises(ValueError, match="training srgan needs srresnet"):
        catalog.check_prerequisites(["srcnn", "srgan"])
    with pytest.raises(ValueError, match="unknown model 'edsr': choose from srcnn, srresnet, srgan"):
        catalog.model_spec("edsr")


def test_every_spec_points_at_real_config_sections():
    fields = set(PipelineConfig.model_fields)
    for spec in catalog.MODELS.values():
        assert {spec.section, spec.architecture, *spec.fingerprint_sections} <= fields
        assert spec.steps(load_config("smoke")) == getattr(load_config("smoke"), spec.name).steps
        assert set(spec.requires) <= set(catalog.MODEL_NAMES)
    assert catalog.is_learned("srgan") and not catalog.is_learned("bicubic")
    assert catalog.method_spec("srgan").learned and not catalog.method_spec("bilinear").learned
    assert catalog.method_spec("bicubic").description(4) == "MATLAB imresize x4, bicubic"
    with pytest.raises(ValueError, match="unknown method 'nearest': choose from bicubic, bilinear, srcnn"):
        catalog.method_spec("nearest")
    assert catalog.is_interpolation("bilinear") and not catalog.is_interpolation("srcnn")


def test_a_model_fingerprint_covers_the_sections_it_is_built_from():
    base = load_config("smoke")
    changed_generator = load_config("smoke", ["srresnet.filters=4"])
    changed_srcnn = load_config("smoke", ["srcnn.steps=9"])
    assert changed_generator.model_fingerprint("srgan") != base.model_fingerprint("srgan")
    assert changed_generator.model_fingerprint("srcnn") == base.model_fingerprint("srcnn")
    assert changed_srcnn.model_fingerprint("srcnn") != base.model_fingerprint("srcnn")
    assert changed_srcnn.model_fingerprint("srresnet") == base.model_fingerprint("srresnet")
    assert catalog.MODELS["srgan"].fingerprint_sections == ("data", "srresnet", "srgan", "train")


def test_only_models_that_need_vgg_weights_look_for_them(tmp_path, monkeypatch):
    monkeypatch.delenv("SRBENCH_VGG19_WEIGHTS", raising=False)
    cfg = load_config("smoke", ["srgan.content_loss=vgg54", f"srgan.vgg_weights={tmp_path / 'absent.h5'}"])
    assert catalog.MODELS["srcnn"].vgg_weights(cfg) is None
    assert catalog.MODELS["srgan"].vgg_weights(load_config("smoke")) is None  # pixel-MSE variant
    pytest.importorskip("tensorflow")
    from sr_core.losses import VGGWeightsUnavailable

    with pytest.raises(VGGWeightsUnavailable, match="absent.h5"):
        catalog.MODELS["srgan"].vgg_weights(cfg)
    weights = tmp_path / "vgg.h5"
    weights.write_bytes(b"x")
    assert catalog.MODELS["srgan"].vgg_weights(load_config("smoke", ["srgan.content_loss=vgg22",
                                                                     f"srgan.vgg_weights={weights}"])) == str(weights)


def test_the_catalogue_imports_neither_tensorflow_nor_pydantic():
    code = ("import sys, sr_core.catalog; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'pydantic', 'prefect') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_receptive_fields_follow_the_architecture():
    div2k = load_config("div2k")
    # SRResNet: head 9x9 (4) + 2 per block + trunk (1) + one 3x3 per x2 stage (2) + the 9x9 tail (1).
    assert catalog.MODELS["srresnet"].receptive_field(div2k) == 4 + 2 * 5 + 1 + 2 + 1
    assert catalog.MODELS["srgan"].receptive_field(load_config("div2k", ["srresnet.num_blocks=16"])) == 40
    # SRCNN: 9-5-5 at HR size is 8 HR px = 2 LR px, plus the in-model bicubic's 2.
    assert catalog.MODELS["srcnn"].receptive_field(div2k) == 4
    assert catalog.MODELS["srcnn"].receptive_field(load_config("div2k", ["srcnn.kernel_sizes=[13,5,5]"])) == 5


@pytest.mark.parametrize("preset,name", [("smoke", "srcnn"), ("quick", "srresnet"), ("smoke", "srgan")])
def test_receptive_field_bounds_what_one_lr_pixel_changes(preset, name):
    # Change one LR pixel; every output pixel that moves lies within the radius (in LR pixels).
    # With random weights (no zero-initialised tail), so the networks are not just bicubic.
    pytest.importorskip("tensorflow")
    import keras

    cfg = load_config(preset, ["srcnn.residual=false", "srresnet.bicubic_skip=false"])
    keras.utils.set_random_seed(3)
    model = catalog.MODELS[name].build(cfg)
    radius = catalog.MODELS[name].receptive_field(cfg)
    size, centre, scale = 2 * radius + 12, radius + 6, cfg.data.scale
    lr = np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype(np.float32)
    poked = lr.copy()
    poked[0, centre, centre] = 255 - poked[0, centre, centre]
    moved = np.abs(np.asarray(model(poked, training=False)) - np.asarray(model(lr, training=False))).max(axis=-1)[0]
    rows, cols = np.nonzero(moved > 1e-3)
    assert rows.size  # the poke reaches the output at all
    reach = max(np.abs(rows // scale - centre).max(), np.abs(cols // scale - centre).max())
    assert reach <= radius
    assert reach >= radius - 2  # and the bound is not loose


def test_the_catalogue_builds_models_that_upscale():
    pytest.importorskip("tensorflow")
    cfg = load_config("smoke")
    for spec in catalog.MODELS.values():
        out = spec.build(cfg)(np.zeros((1, 6, 7, 3), np.float32), training=False)
        assert tuple(out.shape) == (1, 6 * cfg.data.scale, 7 * cfg.data.scale, 3), spec.name


# --------------------------------------------------------------------------------------------------
# Where a model may be named. Adding a model must mean: an architecture module, a catalogue entry
# and its config section with preset values. Every other module asks sr_core.catalog.

ALLOWED = {
    "sr_core/catalog.py": "the catalogue",
    "sr_core/config.py": "each model's config section and its preset values",
    "sr_core/models/": "the architecture modules",
    "sr_core/losses.py": "the VGG content loss is configured in the adversarial model's section",
    "sr_core/training/trainers.py": "the adversarial trainer reads the adversarial model's section",
    "sr_core/published.py": "the papers' published results, keyed by the model they report",
    "tests/": "tests name the models they exercise",
    "benchmarks/": "benchmarks measure named architectures",
}
SKIPPED_DIRS = {"build", "dist", "node_modules", "__pycache__", "mutants"}  # mutants: make mutation's copy
_WORDS = re.compile(r"[a-z0-9]+")


def _mentions(path: Path) -> list[tuple[int, str]]:
    """Identifiers containing a model name, and code-like strings (no spaces) with one as a word.

    Prose (docstrings, help and error messages, which contain spaces) may talk about the models.
    """
    names = catalog.MODEL_NAMES
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        text = tok.string.lower()
        if tok.type == tokenize.NAME and any(name in text for name in names):
            found.append((tok.start[0], tok.string))
        elif (tok.type == tokenize.STRING and not any(c.isspace() for c in text.strip("'\"rbf"))
              and set(_WORDS.findall(text)) & set(names)):
            found.append((tok.start[0], tok.string))
    return found


def _python_files() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*.py"))
            if not any(part.startswith(".") or part in SKIPPED_DIRS for part in p.relative_to(ROOT).parts)]


def test_model_names_appear_only_in_the_catalogue_and_its_allow_list():
    offenders = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        if any(rel == allowed or (allowed.endswith("/") and rel.startswith(allowed)) for allowed in ALLOWED):
            continue
        offenders += [f"{rel}:{line}: {token}" for line, token in _mentions(path)]
    assert not offenders, ("model names outside the catalogue (ask sr_core.catalog instead, or add the "
                           "file to ALLOWED with a reason):\n" + "\n".join(offenders))


def test_the_name_scan_sees_identifiers_and_code_strings(tmp_path):
    # The scan itself can fail: it catches the forms a model name takes in code, not prose.
    probe = tmp_path / "probe.py"
    probe.write_text('LEARNED = ("srcnn", "bicubic")\n'
                     'def train_srgan(cfg):\n'
                     '    return cfg.srresnet.steps, f"train-{cfg}"\n'
                     'NOTE = "SRGAN needs the SRResNet first"\n')
    assert _mentions(probe) == [(1, '"srcnn"'), (2, "train_srgan"), (3, "srresnet")]
