"""The typed records a run leaves on disk, and :class:`RunDir`, the one owner of a run folder's paths.

Records: :class:`RunRecord` (``run.json``), :class:`ExportSidecar` (the JSON beside an exported
``.keras``), :class:`RegistryEntry` / :class:`Registry` (``registry.json``), :class:`FailureRecord`
(``failure.json``) and :class:`StageProgress` (``stages.json``: which stage a flow is in, for its
failure hook). Reading is validation: a truncated, old or hand-edited file raises
:class:`RecordError` naming the file and the field, never a KeyError or TypeError further on.

The roots (reports dir, data dir, history, index, registry) belong to :mod:`sr_core.layout`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sr_core.atomic import write_json
from sr_core.provenance import Provenance

RUN_ID_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"


class RecordError(ValueError):
    """A run record on disk is missing, unreadable or not what this version writes."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


# --------------------------------------------------------------------------------------------------
# Run ids


def new_run_id(preset: str, now: dt.datetime | None = None) -> str:
    """``<preset>-<UTC timestamp>``, e.g. ``div2k-20261125T020000123456Z``: unique and sortable."""
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return f"{preset}-{now.strftime(RUN_ID_TIME_FORMAT)}"


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is one folder name inside the reports dir: not empty, no path separator, no
    NUL, not starting with '.' (so not '..', and not hidden from the index)."""
    if not isinstance(run_id, str) or not run_id or run_id.startswith(".") or any(c in run_id for c in "/\\\0"):
        raise ValueError(f"run id {run_id!r} is not a single safe folder name (no '/', '\\', leading '.' or "
                         "empty name); the run folder must stay inside the reports dir")
    return run_id


# --------------------------------------------------------------------------------------------------
# Records


class Record(BaseModel):
    # Unknown keys are kept (a newer writer may add some); known keys must have the right type.
    model_config = ConfigDict(extra="allow")

    def __getitem__(self, key: str) -> Any:
        """``record["step"]`` reads like the JSON object it came from."""
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


class MethodInfo(Record):
    """One scored method in run.json: an interpolation or a model export."""

    label: str
    kind: Literal["interpolation", "model"]
    model_path: str | None = None
    step: int | None = None
    description: str | None = None
    created_at: str | None = None
    model_fingerprint: str | None = None


class TrainedModel(Record):
    """What the night did for one model: trained it (``origin="trained"``) or reused an identical
    earlier export (``origin="reused"``, with the run that trained it)."""

    name: str | None = None
    label: str | None = None
    path: str | None = None
    sidecar: str | None = None
    step: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    seconds: float | None = None
    origin: Literal["trained", "reused"] = "trained"
    run_id: str | None = None  # the run that trained the export
    steps_trained: int | None = None  # steps this run trained (a resumed run counts its earlier part)
    seconds_trained: float | None = None
    resumed_from_step: int | None = None
    init: str | None = None  # "scratch", "champion <run id>" or "<model> <run id>"

    def describe(self) -> str:
        """'trained tonight: 4 steps in 1.2 s' or 'reused from run R'."""
        if self.origin == "reused":
            return f"reused from run {self.run_id or 'unknown'}"
        steps = self.steps_trained if self.steps_trained is not None else self.step
        text = f"trained tonight: {steps} steps in {float(self.seconds_trained or self.seconds or 0.0):.1f} s"
        if self.resumed_from_step:
            text += f" (resumed at step {self.resumed_from_step})"
        return text


class Changes(Record):
    """What changed since the previous comparable night (same preset, dataset and validation images);
    ``previous_run_id`` None: there is none. Each field as :func:`sr_core.provenance.changes_between`."""

    previous_run_id: str | None = None
    code: dict[str, Any] | None = None
    config: dict[str, list[Any]] = Field(default_factory=dict)
    packages: dict[str, list[Any]] = Field(default_factory=dict)
    data: list[str | None] | None = None
    hardware: dict[str, list[Any]] = Field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.code or self.config or self.packages or self.data or self.hardware)


class RunRecord(Record):
    """``run.json``: what was run, on what, with which models (see docs/evaluation.md)."""

    run_id: str
    started_at: str
    preset: str = "custom"
    dataset: str = ""
    split: str = "validation"
    scale: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    config_fingerprint: str | None = None
    data_fingerprint: str | None = None
    source: dict[str, Any] = Field(default_factory=dict)
    methods: dict[str, MethodInfo] = Field(default_factory=dict)
    wall_times: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    prefect: dict[str, Any] = Field(default_factory=dict)
    trained: dict[str, TrainedModel] = Field(default_factory=dict)
    executed_on: list[str] = Field(default_factory=list)
    track: str | None = None  # preset + dataset: whose champions this run scored and may replace
    champions: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per model: the champion scored
    verdicts: list[dict[str, Any]] = Field(default_factory=list)  # sr_core.verdict.Decision.as_dict()
    provenance: Provenance | None = None
    validation_set: str | None = None  # fingerprint of the sorted validation image ids
    changes: Changes | None = None

    def regression_tolerance_db(self, default: float = 0.1) -> float:
        return float(((self.config.get("eval") or {}).get("regression_tolerance_db", default)))


class ExportSidecar(Record):
    """The JSON beside an exported ``<name>.keras``: what made it, and the file's checksum."""

    label: str
    step: int
    name: str | None = None
    scale: int | None = None
    model_fingerprint: str | None = None
    data_fingerprint: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    seconds: float = 0.0
    created_at: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    keras_file: str | None = None
    keras_sha256: str | None = None
    keras_size: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    run_id: str | None = None  # the night that trained it (None: 'srbench train')
    preset: str | None = None
    config_fingerprint: str | None = None
    provenance: Provenance | None = None
    init: dict[str, Any] | None = None  # the export it started from: kind, path, sha256, run_id, step
    prefect: dict[str, Any] = Field(default_factory=dict)  # flow run and deployment ids


class RegistryEntry(Record):
    """One export in ``registry.json``; ``path`` and ``sidecar`` are relative to the data dir."""

    name: str
    label: str
    path: str
    sidecar: str
    step: int
    metrics: dict[str, float] = Field(default_factory=dict)
    model_fingerprint: str | None = None
    data_fingerprint: str | None = None
    preset: str | None = None
    created_at: str | None = None
    registered_at: str | None = None
    run_id: str | None = None
    config_fingerprint: str | None = None
    provenance: Provenance | None = None
    prefect: dict[str, Any] = Field(default_factory=dict)


class Registry(Record):
    """The legacy single ``registry.json`` (read, never written: see :mod:`sr_core.registry`)."""

    models: list[RegistryEntry] = Field(default_factory=list)


# The registry's change records: one immutable file each, ``models/registry/<id>.json``; the current
# view (exports, champions per model and track) is derived by replaying them (sr_core.registry).


class RegistryChange(Record):
    """What every change record has: when, which model name on which track, who and why."""

    id: str = Field("", exclude=True)  # the record's file stem, set when read
    at: dt.datetime
    name: str
    track: str
    by: str | None = None  # user@host, for changes people make
    why: str | None = None


class ExportRecord(RegistryEntry, RegistryChange):
    """A new export (a challenger of its track)."""

    kind: Literal["export"] = "export"
    dataset: str | None = None


class PromoteRecord(RegistryChange):
    """An export becomes the champion of its track: the first of the track, by the rule, or by hand."""

    kind: Literal["promote"] = "promote"
    path: str  # the export, relative to the data dir (unique per export)
    run_id: str | None = None
    rule: Literal["first", "rule", "manual"]
    replaces: str | None = None  # the champion the decision saw (its path)
    decision: dict[str, Any] | None = None  # sr_core.verdict.Decision.as_dict(): the numbers
    evaluated_in: str | None = None  # the run that scored challenger and champion on the same images


class RejectRecord(RegistryChange):
    """An export was compared with the champion in a run and stays a challenger."""

    kind: Literal["reject"] = "reject"
    path: str
    run_id: str | None = None
    champion: str | None = None
    decision: dict[str, Any] | None = None
    evaluated_in: str | None = None


class RollbackRecord(RegistryChange):
    """A person put an earlier champion back."""

    kind: Literal["rollback"] = "rollback"
    path: str  # the champion removed
    to: str  # the champion put back


RegistryRecord = Annotated[ExportRecord | PromoteRecord | RejectRecord | RollbackRecord,
                           Field(discriminator="kind")]


class FailureRecord(Record):
    """``failure.json``: a failed or crashed flow run, the stage it failed in and why."""

    status: str = "failed"
    run_id: str
    preset: str = "custom"
    flow: str | None = None
    flow_run_id: str | None = None
    flow_run_name: str | None = None
    stage: str = "unknown"
    stages_done: list[str] = Field(default_factory=list)
    error_type: str = "unknown"
    error: str = ""
    message: str | None = None
    traceback: str | None = None
    time: str | None = None


class StageProgress(Record):
    """``stages.json``: the stage a flow run is in and the ones it finished (with their seconds)."""

    run_id: str
    preset: str
    flow_run_id: str | None = None
    started_at: str = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())
    stage: str = "config"
    stages_done: list[str] = Field(default_factory=list)
    wall_times: dict[str, float] = Field(default_factory=dict)


R = TypeVar("R", bound=BaseModel)


def field_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"field '{where}': {err['msg'].lower()}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def read_record(path: str | Path, model: type[R], what: str) -> R:
    """Read and validate one JSON record; every problem is a :class:`RecordError` naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RecordError(path, f"no {what} here") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(path, f"cannot read the {what}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RecordError(path, f"the {what} is not valid JSON ({exc}); was it cut short?") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RecordError(path, f"not a valid {what}: {field_errors(exc)}") from None


def write_record(path: str | Path, record: BaseModel) -> Path:
    return write_json(path, record.model_dump(mode="json"))


def file_digest(path: str | Path) -> tuple[str, int]:
    """The sha256 (hex) and size in bytes of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


# --------------------------------------------------------------------------------------------------
# The run folder


class RunDir:
    """A run folder ``<reports>/<run_id>`` and every path in it.

    ``RunDir(reports_dir, run_id)`` refuses a run id that is not one safe folder name, so nothing a
    user types can put a run outside the reports dir.
    """

    RUN = "run.json"
    METRICS = "metrics.parquet"
    REPORT = "report.html"
    FAILURE = "failure.json"
    STAGES = "stages.json"
    PARTS = "parts"
    PARTS_OWNER = ".owner"  # in parts/: the evaluating process, locked while it lives (sr_core.partsowner)
    IMAGES = "images"

    def __init__(self, reports_dir: str | Path, run_id: str):
        self.run_id = check_run_id(run_id)
        self.reports_dir = Path(reports_dir)
        self.path = self.reports_dir / run_id
        self.run_json = self.path / self.RUN
        self.metrics = self.path / self.METRICS
        self.report = self.path / self.REPORT
        self.failure = self.path / self.FAILURE
        self.stages = self.path / self.STAGES
        self.parts = self.path / self.PARTS
        self.parts_owner = self.parts / self.PARTS_OWNER
        self.images = self.path / self.IMAGES

    @classmethod
    def at(cls, path: str | Path) -> RunDir:
        """The run folder at an existing path (``srbench report RUN_DIR``)."""
        path = Path(path)
        return cls(path.parent, path.name)

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def part(self, index: int) -> Path:
        """The partial metrics table of one evaluation chunk."""
        return self.parts / f"chunk-{index:04d}.parquet"

    def remove_parts(self, parts: list[Path] | None = None) -> None:
        """Delete the chunks' partial tables (once merged) and the parts folder when empty."""
        for part in parts if parts is not None else list(self.parts.glob("*.parquet")):
            Path(part).unlink(missing_ok=True)
        try:
            self.parts.rmdir()
        except OSError:
            pass

    def is_run(self) -> bool:
        """Whether the folder holds any record of a run (run.json, failure.json or metrics)."""
        return self.run_json.is_file() or self.failure.is_file() or self.metrics.is_file()

    # Records ------------------------------------------------------------------------------------

    def read_run(self) -> RunRecord | None:
        """run.json, validated; None when the run has none (yet)."""
        return read_record(self.run_json, RunRecord, "run record") if self.run_json.is_file() else None

    def write_run(self, record: RunRecord) -> Path:
        return write_record(self.run_json, record)

    def read_failure(self) -> FailureRecord | None:
        return read_record(self.failure, FailureRecord, "failure record") if self.failure.is_file() else None

    def write_failure(self, record: FailureRecord) -> Path:
        return write_record(self.failure, record)

    def read_stages(self) -> StageProgress | None:
        return read_record(self.stages, StageProgress, "stage record") if self.stages.is_file() else None

    def write_stages(self, record: StageProgress) -> Path:
        return write_record(self.stages, record)
