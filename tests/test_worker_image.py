"""Workers that run the code you think they run: deployment versions, the Docker pool, the image."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import yaml
from prefect.deployments.steps.core import run_steps
from prefect.utilities.templating import apply_values
from prefect_docker.worker import DockerWorkerJobConfiguration

ROOT = Path(__file__).resolve().parents[1]
PREFECT_FILES = ("prefect.yaml", "prefect-docker.yaml")


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def _git_head() -> str | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                         text=True)
    return out.stdout.strip() or None


@pytest.mark.parametrize("name", PREFECT_FILES)
def test_every_deployment_is_versioned_by_the_commit_it_was_deployed_from(name, monkeypatch):
    project = _load(name)
    monkeypatch.chdir(ROOT)  # `prefect deploy` runs the build steps in the project root
    outputs = asyncio.run(run_steps(project["build"], print_function=lambda *a, **k: None))
    head = _git_head()
    assert outputs["git-commit"]["stdout"] == (head or "no-git")
    for deployment in project["deployments"]:
        assert apply_values(deployment["version"], outputs) == (head or "no-git"), deployment["name"]


def test_the_build_step_says_no_git_outside_a_clone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    outputs = asyncio.run(run_steps(_load("prefect.yaml")["build"], print_function=lambda *a, **k: None))
    assert outputs["git-commit"]["stdout"] == "no-git"


def test_docker_deployments_mirror_the_gpu_deployments_of_prefect_yaml():
    process = {d["name"]: d for d in _load("prefect.yaml")["deployments"]}
    docker = {d["name"]: d for d in _load("prefect-docker.yaml")["deployments"]}
    assert set(docker) == {n for n, d in process.items() if d["work_pool"]["name"] == "gpu-pool"}
    for name, deployment in docker.items():
        for key in ("entrypoint", "parameters", "schedules", "concurrency_limit"):
            assert deployment.get(key) == process[name].get(key), (name, key)
        assert deployment["work_pool"]["name"] == "gpu-docker-pool"


def test_docker_job_variables_are_valid_for_prefect_docker_and_request_every_gpu(monkeypatch):
    monkeypatch.setenv("SRBENCH_REGISTRY", "registry.local")
    project = _load("prefect-docker.yaml")
    (pull,) = project["pull"]
    assert pull["prefect.deployments.steps.set_working_directory"]["directory"] == _dockerfile_value("WORKDIR")
    for deployment in project["deployments"]:
        variables = apply_values(deployment["work_pool"]["job_variables"],
                                 {"git-commit": {"stdout": "0123456789ab"}})
        config = DockerWorkerJobConfiguration(**variables)
        assert config.image == "registry.local/srbench-worker:0123456789ab"  # the tag is the version
        (request,) = config.container_create_kwargs["device_requests"]
        assert request == {"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}
        assert config.env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"


def _dockerfile_value(instruction: str) -> str:
    text = (ROOT / "Dockerfile").read_text()
    (value,) = re.findall(rf"^{instruction}\s+(\S+)\s*$", text, flags=re.M)
    return value


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    return pins


def test_image_base_and_constraints_pin_the_same_tensorflow():
    base_version = re.search(r"^ARG TF_VERSION=(\S+)$", (ROOT / "Dockerfile").read_text(),
                             flags=re.M).group(1)
    pins = _pins()
    assert pins["tensorflow"] == base_version
    assert "tensorflow/tensorflow:${TF_VERSION}-gpu" in (ROOT / "Dockerfile").read_text()


def test_constraints_pin_what_make_setup_installs():
    pins = _pins()
    for name in ("tensorflow", "keras", "prefect", "numpy", "prefect-docker", "tensorboard"):
        assert name in pins, f"constraints.txt misses {name}: run 'make lock'"
        try:
            installed = version(name)
        except PackageNotFoundError:  # an optional extra this environment did not install
            continue
        assert pins[name] == installed, f"constraints.txt pins {name}=={pins[name]}, installed " \
            f"{installed}: run 'make lock'"


@pytest.mark.slow
def test_docker_build_of_the_worker_image(tmp_path):
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed: the worker image build is not checked here")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if info.returncode != 0:
        pytest.skip("no Docker daemon reachable (docker info failed): the worker image build is not "
                    "checked here")
    tag = f"srbench-worker-test:{_git_head() or 'local'}"
    build = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True,
                           timeout=3000)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    run = subprocess.run(["docker", "run", "--rm", tag, "srbench", "--version"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and "srbench" in run.stdout


def test_make_lock_regenerates_the_constraints_file():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "-W", "pyproject.toml", "lock"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "pip freeze --exclude-editable" in out.stdout and "mv constraints.txt.tmp constraints.txt" in out.stdout
