import os
import stat
import subprocess
import sys

import pytest

from sr_core.atomic import atomic_path, write_json


def test_atomic_write_leaves_nothing_on_failure_and_uses_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list((tmp_path / "sub").iterdir()) == []
    write_json(target, {"a": 1})
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert target.read_text().strip().startswith("{")


def test_tensorflow_import_is_silent_unless_verbose():
    code = ("from sr_core.quiet import configure_noise; configure_noise({verbose}); "
            "import tensorflow as tf; tf.zeros(1)")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run([sys.executable, "-c", code.format(verbose=False)], capture_output=True,
                           text=True, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert "absl::InitializeLog" not in quiet.stderr and "cudart_stub" not in quiet.stderr
    assert quiet.stderr.strip() == ""
    loud = subprocess.run([sys.executable, "-c", code.format(verbose=True)], capture_output=True,
                          text=True, env=env)
    assert loud.returncode == 0 and loud.stderr.strip()  # --verbose brings the log lines back


def test_atomic_dir_appears_whole_with_normal_permissions(tmp_path):
    from sr_core.atomic import atomic_dir

    target = tmp_path / "models" / "run1"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as staging:
            (staging / "half.keras").write_text("x")
            raise RuntimeError("boom")
    assert not target.exists() and list(target.parent.iterdir()) == []
    with atomic_dir(target) as staging:
        (staging / "model.keras").write_text("x")
    assert (target / "model.keras").read_text() == "x"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~mask
