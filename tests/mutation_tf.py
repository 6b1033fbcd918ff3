"""Mutation testing of the TensorFlow-dependent functions (``make mutation-tf``).

``make mutation`` forks mutmut's own process for every mutant; TensorFlow imported there does not
survive the fork, so its selection is TensorFlow-free and these functions show as ``no tests``.
mutmut 3.8's ``forkserver`` isolation with no warm-up forks a process that has imported no test
code, so each mutant's process imports TensorFlow itself (a few seconds each: slow, hence apart).
This copies the tracked files into a scratch folder, gives the copy a ``[tool.mutmut]`` table that
selects the TensorFlow tests of these modules, runs mutmut there and prints the summary.

Usage: python tests/mutation_tf.py [--jobs N] [--dir PATH] [PATTERN ...]
(default patterns: the checkpoints module and export's load_model / framework_versions)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = ["sr_core.training.checkpoints*", "sr_core.export.x_load_model*", "sr_core.export.x_framework_versions*"]
TABLE = {
    "source_paths": ["sr_core/"],
    "only_mutate": ["sr_core/training/checkpoints.py", "sr_core/export.py"],
    "also_copy": ["tests/", "flows/", "tasks/", "srbench/"],
    "pytest_add_cli_args": ["-p", "no:cacheprovider", "-m", "not slow and not browser", "-q"],
    "pytest_add_cli_args_test_selection": [
        "tests/test_checkpoints_state.py", "tests/test_checkpoint_fallback.py", "tests/test_checkpoint_units.py",
        "tests/test_export_registry.py", "tests/test_export_units.py"],
    "process_isolation": "forkserver",
    "forkserver_warmup": "none",
}


def tf_table() -> str:
    return "[tool.mutmut]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in TABLE.items())


def with_table(pyproject: str) -> str:
    """``pyproject`` with its ``[tool.mutmut]`` table replaced by :data:`TABLE`."""
    start = pyproject.index("[tool.mutmut]")
    end = pyproject.find("\n[", start + 1)
    return pyproject[:start] + tf_table() + ("" if end < 0 else pyproject[end + 1:])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/srbench-mutation-tf"))
    parser.add_argument("patterns", nargs="*", default=PATTERNS)
    args = parser.parse_args(argv)
    copy = args.dir
    if copy.exists():
        shutil.rmtree(copy)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (ROOT / rel).is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, copy / rel)
    (copy / "pyproject.toml").write_text(with_table((ROOT / "pyproject.toml").read_text()))
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "mutmut"), "run", "--max-children", str(args.jobs), *args.patterns], cwd=copy)
    return subprocess.run([sys.executable, "tests/mutation_summary.py", "--survivors"], cwd=copy).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
