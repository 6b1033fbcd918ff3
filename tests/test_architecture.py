"""The layers' import rules (docs/architecture.md), read from the source: imports inside function
bodies count too, so a rule cannot be dodged by importing late."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level packages it must never import, with the reason the rule exists.
FORBIDDEN = {
    "sr_core": {"prefect": "the library runs without Prefect (a notebook, a test, another orchestrator)",
                "prefect_dask": "the library runs without Prefect",
                "tasks": "sr_core is below tasks", "flows": "sr_core is below flows",
                "srbench": "sr_core is below the CLI", "typer": "the CLI prints; the library raises"},
    "tasks": {"flows": "tasks are below flows (a hook or task needing flow state reads the run folder)",
              "srbench": "tasks are below the CLI"},
    "flows": {"srbench": "flows are below the CLI"},
    "srbench": {"tasks": "the CLI calls sr_core use cases, not Prefect tasks"},
}
# The CLI starts the nightly flow, so `srbench run` (and only it) may import flows.
ALLOWED = {("srbench/commands/run.py", "flows")}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _violations(package: str) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for name in sorted(imported_packages(path) & set(FORBIDDEN[package])):
            if (rel, name) not in ALLOWED:
                out.append(f"{rel} imports {name}: {FORBIDDEN[package][name]}")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_downwards(package):
    assert not _violations(package)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from prefect import flow\n    import flows.common as c\n")
    assert imported_packages(module) == {"os", "prefect", "flows"}
