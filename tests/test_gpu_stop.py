"""The div2k preset stops at once, with a message, on a machine where TensorFlow sees no GPU."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from srbench.cli import app
from sr_core.config import load_config
from sr_core.devices import NoGPUError, require_gpu, visible_gpus

pytestmark = pytest.mark.skipif(bool(visible_gpus()), reason="this machine has a GPU: nothing to stop")


def test_div2k_needs_a_gpu_and_smoke_does_not():
    assert load_config("div2k").require_gpu and not load_config("smoke").require_gpu
    with pytest.raises(NoGPUError, match="needs a GPU.*--allow-cpu"):
        require_gpu(load_config("div2k"))
    assert require_gpu(load_config("smoke")) == []
    assert require_gpu(load_config("div2k", ["require_gpu=false"])) == []
    # The switch is not a model setting: it never changes what a model is.
    assert load_config("div2k", ["require_gpu=false"]).model_fingerprint("srcnn") == \
        load_config("div2k").model_fingerprint("srcnn")


@pytest.mark.parametrize("command", [["train", "--model", "srcnn"], ["run"]])
def test_cli_stops_before_any_work(tmp_path, command):
    data = tmp_path / "data"
    result = CliRunner().invoke(app, [*command, "--preset", "div2k", "--data-dir", str(data),
                                      "--reports-dir", str(tmp_path / "reports")])
    assert result.exit_code == 2, result.output
    assert "needs a GPU" in result.output and "--allow-cpu" in result.output
    assert not data.exists()  # stopped before the roots were even created


def test_allow_cpu_gets_past_the_check(tmp_path):
    # --allow-cpu goes on to the real work, which here stops at the offline DIV2K download instead.
    result = CliRunner().invoke(app, ["train", "--model", "srcnn", "--preset", "div2k", "--allow-cpu",
                                      "--data-dir", str(tmp_path / "data")])
    assert "needs a GPU" not in result.output
    assert (tmp_path / "data").is_dir()
