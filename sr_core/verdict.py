"""The night's verdict: paired comparisons per method, the promotion rule, the regression rule.

Every comparison here pairs the per-image full-image Y-PSNR of two methods over the images both
scored, and goes through :func:`sr_core.stats.paired_bootstrap` (seeded, so a report rebuilt from
the same Parquet shows the same intervals).

Promotion rule (docs/lifecycle.md), for a challenger (tonight's model) against the champion of its
track scored in the same run on the same images, with ``d`` = challenger - champion per image and
``tol`` = ``eval.regression_tolerance_db``:

* no champion on the track yet: the challenger becomes champion (``first``);
* the challenger *is* the champion's export (a reused model): nothing to decide (``same``);
* at least :data:`~sr_core.stats.MIN_IMAGES_FOR_VERDICT` images: promote when the 95% interval of
  mean(d) is not entirely below 0 (``high >= 0``: not significantly worse) **and**
  ``mean(d) >= -tol`` (not worse on average by more than the tolerance); else reject;
* fewer images: a percentile interval over so few images is too narrow to trust, so it is not
  used; promote when ``mean(d) >= -tol``, and the record says the verdict rests on the mean alone;
* ``eval.promotion = "manual"``: the rule's verdict is recorded, but only ``srbench promote``
  changes a champion (a first model still becomes champion, so the track has one).

Regression rule: a method regressed when, against the latest earlier *comparable* night (same
preset, dataset and set of validation images), the 95% interval of its paired per-image difference
lies entirely below ``-tol`` (``high < -tol``), which needs at least MIN_IMAGES_FOR_VERDICT images.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from sr_core.stats import MIN_IMAGES_FOR_VERDICT, PairedComparison, paired_bootstrap

CHAMPION_SUFFIX = "@champion"
Action = Literal["promote", "reject", "none"]


def champion_method(name: str) -> str:
    """The method name under which a model's champion is scored in a run: ``srgan@champion``."""
    return f"{name}{CHAMPION_SUFFIX}"


def challenged_name(method: str) -> str | None:
    """``srgan`` for ``srgan@champion``; None for any other method."""
    return method[: -len(CHAMPION_SUFFIX)] if method.endswith(CHAMPION_SUFFIX) else None


def champion_label(label: str, run_id: str | None) -> str:
    """How a champion scored beside tonight's model is labelled: 'SRGAN-MSE (4x32, skip)' ->
    'SRGAN-MSE (4x32, skip; champion, run R)', 'SRCNN' -> 'SRCNN (champion, run R)'."""
    tag = f"champion, run {run_id}" if run_id else "champion"
    return f"{label[:-1]}; {tag})" if label.endswith(")") else f"{label} ({tag})"


def per_image(metrics: pd.DataFrame, method: str, *, dataset: str | None = None,
              column: str = "psnr_y") -> pd.Series:
    """Full-image ``column`` of one method, indexed by image id (one dataset when given)."""
    rows = metrics[(metrics["method"] == method) & (metrics["region"] == "full")]
    if dataset is not None:
        rows = rows[rows["dataset"] == dataset]
    return rows.drop_duplicates("image_id", keep="last").set_index("image_id")[column].astype(float)


def compare(a: pd.Series, b: pd.Series) -> PairedComparison | None:
    """Paired bootstrap of ``a - b`` over the images both have, in image-id order (so the interval
    does not depend on row order); None when they share none."""
    common = sorted(set(a.index) & set(b.index))
    if not common:
        return None
    try:
        return paired_bootstrap(a.loc[common].to_numpy(), b.loc[common].to_numpy())
    except ValueError:  # no image with a finite score for both
        return None


def comparison_dict(cmp: PairedComparison | None) -> dict[str, Any] | None:
    """A JSON-ready copy (for run.json, registry records and event payloads)."""
    if cmp is None:
        return None
    return {**asdict(cmp), "resolvable": cmp.resolvable}


@dataclass(frozen=True)
class MethodComparison:
    """One method against bicubic and, for a model with a champion in the run, against it."""

    method: str
    vs_bicubic: PairedComparison | None
    vs_champion: PairedComparison | None


def method_comparisons(metrics: pd.DataFrame, methods: Iterable[str], *,
                       dataset: str | None = None) -> dict[str, MethodComparison]:
    """Per method: paired Y-PSNR difference vs bicubic and vs ``<method>@champion`` when scored."""
    present = set(metrics["method"])
    bicubic = per_image(metrics, "bicubic", dataset=dataset) if "bicubic" in present else None
    out = {}
    for method in methods:
        if method not in present:
            continue
        mine = per_image(metrics, method, dataset=dataset)
        champ = champion_method(method)
        out[method] = MethodComparison(
            method=method,
            vs_bicubic=compare(mine, bicubic) if bicubic is not None and method != "bicubic" else None,
            vs_champion=compare(mine, per_image(metrics, champ, dataset=dataset)) if champ in present else None)
    return out


# --------------------------------------------------------------------------------------------------
# Promotion


@dataclass(frozen=True)
class Decision:
    """The promotion verdict for one model of one track."""

    name: str
    track: str
    action: Action
    reason: str  # "first", "same", "better", "significantly-worse", "beyond-tolerance", ...
    explanation: str
    tolerance_db: float
    comparison: PairedComparison | None = None
    manual: bool = False  # eval.promotion = "manual": the verdict is recorded, not applied

    @property
    def promotes(self) -> bool:
        return self.action == "promote" and (not self.manual or self.reason == "first")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "track": self.track, "action": self.action, "reason": self.reason,
                "explanation": self.explanation, "tolerance_db": self.tolerance_db,
                "manual": self.manual, "applied": self.promotes or self.action == "reject",
                "comparison": comparison_dict(self.comparison)}


def decide(name: str, track: str, comparison: PairedComparison | None, *, tolerance_db: float,
           has_champion: bool, same_export: bool = False, manual: bool = False) -> Decision:
    """Apply the promotion rule (module docstring) to a challenger's paired comparison."""
    def make(action: Action, reason: str, text: str) -> Decision:
        return Decision(name, track, action, reason, text, tolerance_db, comparison, manual)

    if not has_champion:
        return make("promote", "first", f"first {name} model of track {track}: it becomes the champion")
    if same_export:
        return make("none", "same", "tonight's model is the champion's export (reused): nothing to decide")
    if comparison is None:
        return make("none", "not-compared", "the champion was not scored on the same images: no verdict")
    numbers = comparison.describe()
    if comparison.mean < -tolerance_db:
        return make("reject", "beyond-tolerance",
                    f"mean {comparison.mean:+.3f} dB is more than the {tolerance_db} dB tolerance below "
                    f"the champion ({numbers})")
    if not comparison.resolvable:
        return make("promote", "mean-only",
                    f"within {tolerance_db} dB of the champion on average; fewer than "
                    f"{MIN_IMAGES_FOR_VERDICT} images, so the interval is not used ({numbers})")
    if comparison.high < 0:
        return make("reject", "significantly-worse",
                    f"the 95% interval lies entirely below 0: significantly worse than the champion ({numbers})")
    return make("promote", "not-worse", f"not significantly worse than the champion ({numbers})")


# --------------------------------------------------------------------------------------------------
# Regression between nights


def image_set(metrics: pd.DataFrame, dataset: str) -> frozenset[str]:
    """The validation images a run scored in full (what "comparable" compares)."""
    rows = metrics[(metrics["region"] == "full") & (metrics["dataset"] == dataset)]
    if "split" in rows:
        rows = rows[rows["split"] == "validation"]
    return frozenset(rows["image_id"].astype(str))


def regression(now: pd.Series, before: pd.Series, tolerance_db: float) -> PairedComparison | None:
    """The paired comparison when it shows a regression beyond ``tolerance_db``, else None."""
    cmp = compare(now, before)
    return cmp if cmp is not None and cmp.entirely_below(-tolerance_db) else None
