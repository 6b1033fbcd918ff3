"""Export (.keras + sidecar, atomic), safe-mode reload with identical outputs, and the registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from sr_core import layout  # noqa: E402
from sr_core.export import export_model, find_export, load_model, read_sidecar  # noqa: E402
from sr_core.models import build_discriminator, build_srcnn, build_srresnet  # noqa: E402
from sr_core.registry import ModelNotFoundError, list_models, register_export, resolve_model  # noqa: E402


@pytest.mark.parametrize("name", ["srcnn", "srresnet"])
def test_export_then_reload_gives_identical_outputs(smoke_config, name):
    from tests.helpers_models import bn_moving_statistics, make_nontrivial

    tf.keras.utils.set_random_seed(1)
    build = build_srcnn if name == "srcnn" else build_srresnet
    model = build(getattr(smoke_config, name), smoke_config.data.scale)
    make_nontrivial(model, seed=5)  # non-zero tail and BatchNorm statistics away from 0/1
    lr = np.random.default_rng(0).uniform(0, 255, (2, 9, 11, 3)).astype(np.float32)
    result = export_model(model, smoke_config, name, step=7, metrics={"val_psnr_y": 30.0}, seconds=1.5)
    assert result.path.name == f"{name}.keras" and result.path.parent.parent == layout.models_dir(smoke_config) / name
    assert result.path.parent.name.endswith(smoke_config.model_fingerprint(name))
    assert not [p for p in result.path.parent.parent.iterdir() if p.name.startswith(".")]  # no staging left
    reloaded = load_model(result.path)
    np.testing.assert_array_equal(reloaded(lr, training=False).numpy(), model(lr, training=False).numpy())
    for a, b in zip(reloaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    stats, want = bn_moving_statistics(reloaded), bn_moving_statistics(model)
    assert stats.keys() == want.keys() and (name == "srcnn" or len(stats) == 3)
    for layer, (mean, var) in want.items():
        assert np.abs(mean).max() > 0.05 and np.abs(var - 1).max() > 0.05  # not the initial 0/1
        np.testing.assert_array_equal(stats[layer][0], mean)
        np.testing.assert_array_equal(stats[layer][1], var)
    meta = read_sidecar(result.path)
    assert meta["step"] == 7 and meta["name"] == name and meta["config"]["preset"] == "smoke"
    assert meta["data_fingerprint"] == smoke_config.data_fingerprint()
    assert {"tensorflow", "keras", "srbench"} <= set(meta["versions"])
    assert find_export(smoke_config, name, 7) == result
    assert find_export(smoke_config, name, 8) is None


def test_load_model_refuses_lambda_layers(tmp_path):
    import keras

    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, keras.layers.Lambda(lambda x: x * 2.0)(inp))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="(?i)lambda|safe"):
        load_model(path)


def test_discriminator_round_trips_too(smoke_config, tmp_path):
    disc = build_discriminator(smoke_config.srgan)
    path = tmp_path / "d.keras"
    disc.save(path)
    hr = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(load_model(path)(hr).numpy(), disc(hr).numpy())


def test_registry_resolves_the_champion_by_name_and_the_newest_with_latest(smoke_config):
    model = build_srcnn(smoke_config.srcnn, 4)
    first = export_model(model, smoke_config, "srcnn", step=1)
    second = export_model(model, smoke_config, "srcnn", step=2)
    data_dir = smoke_config.data_dir
    register_export(data_dir, first, run_id="r1")
    register_export(data_dir, second, run_id="r2")
    register_export(data_dir, second, run_id="r2")  # re-registering does not duplicate
    entries = list_models(data_dir)
    assert [e["step"] for e in entries] == [2, 1] and all(e["exists"] for e in entries)
    stored = [json.loads(p.read_text()) for p in sorted((data_dir / "models" / "registry").glob("*.json"))]
    assert [r["kind"] for r in stored] == ["export", "promote", "export"]
    assert not stored[0]["path"].startswith("/")  # relative to the data dir
    assert resolve_model(data_dir, "srcnn") == first.path  # the first export of the track is its champion
    assert resolve_model(data_dir, "SRCNN@latest") == second.path
    assert resolve_model(data_dir, "srcnn@r2") == second.path
    assert resolve_model(data_dir, str(first.path)) == first.path
    assert resolve_model(data_dir, first.path.parent) == first.path


def test_resolve_model_says_what_to_run_when_nothing_is_registered(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"no srgan model found in .*models: no champion on any track; run `srbench train --model srgan`"):
        resolve_model(tmp_path, "srgan")
    with pytest.raises(ModelNotFoundError, match="neither a model name"):
        resolve_model(tmp_path, tmp_path / "missing.keras")


def test_load_model_takes_the_file_or_a_folder_holding_exactly_one(tmp_path):
    import keras

    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, keras.layers.Rescaling(2.0)(inp))
    folder = tmp_path / "export"
    folder.mkdir()
    model.save(folder / "m.keras")
    (folder / "m.json").write_text("{}")
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3)
    for where in (folder, folder / "m.keras", str(folder)):
        np.testing.assert_array_equal(load_model(where)(x).numpy(), x * 2.0)
    with pytest.raises(FileNotFoundError) as caught:
        load_model(folder / "other.keras")
    assert str(caught.value) == f"model file {folder / 'other.keras'} does not exist"
    (folder / "n.keras").write_bytes((folder / "m.keras").read_bytes())
    with pytest.raises(FileNotFoundError) as caught:
        load_model(folder)
    assert str(caught.value) == f"{folder} holds 2 .keras files; give the file itself"
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(FileNotFoundError) as caught:
        load_model(tmp_path / "empty-dir")
    assert str(caught.value) == f"{tmp_path / 'empty-dir'} holds 0 .keras files; give the file itself"
