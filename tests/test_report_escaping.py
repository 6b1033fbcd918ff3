"""report.html and index.html with hostile labels, preset, dataset, run id and folder name.

Every value carries both quote kinds, ``<`` and ``&`` (already an entity, so double escaping shows
too). A real HTML parser then reads the pages back: each value must come back exactly, as text or as
one attribute value, and no element or attribute the data injected may exist.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from sr_core.report import render_index, render_report, update_history
from tests.helpers_report import make_run

HOSTILE = "Q\"uo'te<i>&amp;"
VALUES = {"preset": HOSTILE + "P", "dataset": HOSTILE + "D", "label": HOSTILE + "L",
          "bicubic": HOSTILE + "B", "run_id": HOSTILE + "R"}
FOLDER = "run\"'<&>1"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Page:
    parsed = _Page()
    parsed.feed(page)
    return parsed


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    reports = root / "reports"
    run_dir = make_run(reports, FOLDER, "2026-01-01T01:00:00Z")  # bicubic + bilinear: no TensorFlow
    run_json = run_dir / "run.json"
    run = json.loads(run_json.read_text())
    run.update(preset=VALUES["preset"], dataset=VALUES["dataset"], run_id=VALUES["run_id"])
    run["methods"]["bilinear"]["label"] = VALUES["label"]
    run["methods"]["bicubic"]["label"] = VALUES["bicubic"]
    run_json.write_text(json.dumps(run))
    update_history(run_dir, reports)
    return reports, run_dir


def _assert_safe(page: str, expected: list[str]) -> _Page:
    assert HOSTILE not in page
    parsed = _parse(page)
    assert "i" not in parsed.tags  # the data's <i> never became an element
    names = {name for name, _ in parsed.attributes}
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*", n) for n in names), names  # no attribute broke open
    text = "".join(parsed.text)
    values = [v for _, v in parsed.attributes if v]
    for value in expected:
        assert value in text or value in values, value  # back exactly: escaped once, not twice
    return parsed


def test_report_escapes_labels_preset_dataset_and_run_id(hostile_run):
    _, run_dir = hostile_run
    page = render_report(run_dir).read_text()
    parsed = _assert_safe(page, list(VALUES.values()))
    values = [v for _, v in parsed.attributes]
    # Attribute values (sortable cells) keep the quotes inside the attribute.
    assert VALUES["label"] in values and VALUES["bicubic"] in values


def test_index_escapes_labels_preset_dataset_run_id_and_folder(hostile_run):
    reports, run_dir = hostile_run
    render_report(run_dir)  # the index links runs that have a report
    page = render_index(reports).read_text()
    parsed = _assert_safe(page, [VALUES["preset"], VALUES["dataset"], VALUES["run_id"], VALUES["label"],
                                 VALUES["bicubic"]])
    hrefs = [v for name, v in parsed.attributes if name == "href"]
    assert hrefs == [f"{FOLDER}/report.html"]
