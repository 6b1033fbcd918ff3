"""Training curves: a small CSV (``curves.csv``) the report can plot, plus TensorBoard summaries."""

from __future__ import annotations

import csv
import math
from pathlib import Path

CURVES_FILE = "curves.csv"


class CurveLog:
    """Appends one row per logged step to ``curves.csv`` and the same scalars to TensorBoard.

    On resume, rows past the restored checkpoint's step (logged before a kill) are dropped first,
    so the file always describes one consistent run.
    """

    def __init__(self, directory: Path, columns: list[str], resume_step: int):
        import tensorflow as tf

        self.path = Path(directory) / CURVES_FILE
        self.columns = ["step", *columns, "val_psnr_y", "seconds"]
        self._truncate_after(resume_step)
        self._writer = tf.summary.create_file_writer(str(Path(directory) / "tensorboard"))

    def _truncate_after(self, step: int) -> None:
        rows = []
        if self.path.exists():
            with self.path.open(newline="") as fh:
                reader = csv.DictReader(fh)
                if reader.fieldnames == self.columns:
                    rows = [r for r in reader if int(r["step"]) <= step]
        with self.path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, step: int, values: dict[str, float]) -> None:
        import tensorflow as tf

        row = {"step": step}
        for column in self.columns[1:]:
            value = values.get(column)
            row[column] = "" if value is None or (isinstance(value, float) and math.isnan(value)) else value
        with self.path.open("a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.columns).writerow(row)
        with self._writer.as_default(step=step):
            for key, value in values.items():
                if value is not None and key != "seconds" and not math.isnan(float(value)):
                    # tf.summary.scalar needs the tensorboard package; this is the same record
                    # (the "scalars" plugin reads it) written with core TF only.
                    tf.summary.write(key, tf.constant(float(value), tf.float32), metadata=_scalar_metadata())
        self._writer.flush()


def _scalar_metadata():
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    return metadata


def read_curves(directory: Path) -> list[dict[str, float]]:
    """The rows of ``curves.csv`` as floats (empty cells become NaN)."""
    path = Path(directory) / CURVES_FILE
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return [{k: (float(v) if v != "" else math.nan) for k, v in row.items()} for row in csv.DictReader(fh)]
