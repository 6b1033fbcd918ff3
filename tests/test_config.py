import pytest
from pydantic import ValidationError

from sr_core.config import PRESET_NAMES, load_config, parse_override


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_validate_and_are_named(name):
    cfg = load_config(name)
    assert cfg.preset == name
    assert cfg.data.hr_patch_size % cfg.data.scale == 0


def test_div2k_preset_keeps_the_seed_networks():
    cfg = load_config("div2k")
    assert cfg.srcnn.filters == (128, 64) and cfg.srcnn.kernel_sizes == (9, 5, 5)
    assert not cfg.srcnn.residual
    assert cfg.srresnet.num_blocks == 5 and not cfg.srresnet.bicubic_skip
    assert cfg.srgan.content_loss == "vgg54" and cfg.srgan.adversarial_weight == 1e-3
    assert cfg.data.dataset == "div2k" and cfg.data.hr_patch_size == 96
    assert {c.image_id for c in cfg.eval.crops} >= {"0878", "0887"}  # seed indices 6, 24 in tfds order


def test_overrides_reach_nested_fields_and_parse_json():
    cfg = load_config("smoke", ["srcnn.steps=7", "srcnn.lr.initial=0.01", "srcnn.residual=false",
                                "data.dataset=folder:/tmp/x"])
    assert cfg.srcnn.steps == 7 and cfg.srcnn.lr.initial == 0.01 and cfg.srcnn.residual is False
    assert cfg.data.dataset == "folder:/tmp/x"


def test_bad_overrides_are_rejected_with_the_field_named():
    with pytest.raises(ValidationError, match="stepz"):
        load_config("smoke", ["srcnn.stepz=3"])
    with pytest.raises(ValidationError, match="multiple of scale"):
        load_config("smoke", ["data.hr_patch_size=30"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_override("srcnn.steps")
    with pytest.raises(ValueError, match="unknown preset"):
        load_config("fast")


def test_fingerprints_follow_what_decides_the_artifact(tmp_path):
    a = load_config("smoke")
    moved = load_config("smoke", data_dir=tmp_path / "elsewhere", reports_dir=tmp_path / "r")
    assert a.data_fingerprint() == moved.data_fingerprint()
    more_steps = load_config("smoke", ["srcnn.steps=99"])
    assert more_steps.data_fingerprint() == a.data_fingerprint()
    assert more_steps.model_fingerprint("srcnn") != a.model_fingerprint("srcnn")
    assert more_steps.model_fingerprint("srresnet") == a.model_fingerprint("srresnet")
    bigger = load_config("smoke", ["srresnet.num_blocks=3"])
    assert bigger.model_fingerprint("srgan") != a.model_fingerprint("srgan")
    assert load_config("smoke", ["data.seed=1"]).data_fingerprint() != a.data_fingerprint()


def test_srgan_variant_label():
    assert load_config("div2k").srgan.label == "SRGAN"
    assert load_config("quick").srgan.label == "SRGAN-MSE"


@pytest.mark.parametrize("override", ["data.seed=1", "data.hr_patch_size=48", "train.seed=1",
                                      "train.mixed_precision=true"])
def test_every_model_fingerprint_covers_the_data_and_train_sections(override):
    # A changed dataset or training setting must never resume a stale checkpoint or reuse an export.
    base, changed = load_config("smoke"), load_config("smoke", [override])
    for model in ("srcnn", "srresnet", "srgan"):
        assert changed.model_fingerprint(model) != base.model_fingerprint(model), (override, model)


def test_model_fingerprints_ignore_other_models_and_the_evaluation():
    base = load_config("smoke")
    for override, same in [("eval.max_images=3", ("srcnn", "srresnet", "srgan")),
                           ("srcnn.steps=99", ("srresnet", "srgan")),
                           ("srgan.steps=99", ("srcnn", "srresnet"))]:
        other = load_config("smoke", [override])
        for model in same:
            assert other.model_fingerprint(model) == base.model_fingerprint(model), (override, model)
    assert load_config("smoke", ["srgan.steps=99"]).model_fingerprint("srgan") != base.model_fingerprint("srgan")
    assert load_config("smoke", ["srresnet.filters=4"]).model_fingerprint("srgan") != base.model_fingerprint("srgan")
    assert len(base.model_fingerprint("srcnn")) == 12
    assert len({base.model_fingerprint(m) for m in ("srcnn", "srresnet", "srgan")}) == 3
