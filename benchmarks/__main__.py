"""Run the benchmark suite: ``python -m benchmarks [--smoke] [--only NAME ...] [--out DIR]``.

Each module in :data:`MODULES` measures one or more figures of issue 12's table, each against a peer
measured in the same run. Results go to ``DIR/results.json`` (merged with what is already there, so
``--only`` refreshes some figures and keeps the others) and the Markdown rendered from it to
``DIR/BENCHMARKS.md`` or ``--markdown PATH`` (``make bench`` regenerates the project's BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

# Benchmarks need quiet logs and the same thread settings in every process they start.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import suite  # noqa: E402

# name -> module under benchmarks/; the order is the order they run in.
MODULES = {
    "metrics": "benchmarks.metric_speed",
    "fidelity": "benchmarks.metric_fidelity",
    "resize": "benchmarks.resize_speed",
    "pipeline": "benchmarks.input_pipeline",
    "training": "benchmarks.training_throughput",
    "inference": "benchmarks.inference",
    "evaluation": "benchmarks.evaluation_scaling",
    "growth": "benchmarks.cost_growth",
    "gpu": "benchmarks.gpu_projection",
    "orchestration": "benchmarks.orchestration",
    "end_to_end": "benchmarks.end_to_end",
}
HISTORY = "docs/benchmarks-history.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: checks the suite runs (seconds)")
    parser.add_argument("--only", action="append", choices=sorted(MODULES), metavar="NAME",
                        help=f"run only these modules (repeatable): {', '.join(MODULES)}")
    parser.add_argument("--skip", action="append", choices=sorted(MODULES), metavar="NAME", default=[],
                        help="leave these modules out")
    parser.add_argument("--out", type=Path, default=Path("benchmarks"),
                        help="folder for results.json and BENCHMARKS.md (default: benchmarks/)")
    parser.add_argument("--markdown", type=Path,
                        help="write the rendered Markdown here (default: DIR/BENCHMARKS.md)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats per measurement (median; >= 3)")
    parser.add_argument("--fresh", action="store_true", help="do not merge with an existing results.json")
    parser.add_argument("--render-only", action="store_true",
                        help="run nothing: merge --merge files into DIR/results.json and render the Markdown")
    parser.add_argument("--merge", type=Path, action="append", default=[], metavar="JSON",
                        help="also take the figures of another run's results.json (e.g. a long figure measured "
                             "separately); this run's own figures win")
    args = parser.parse_args(argv)
    if not args.smoke and args.repeat < 3:
        parser.error("--repeat must be at least 3 (figures are medians of >= 3 repeats)")

    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "results.json"
    previous = None if args.fresh or not json_path.is_file() else json.loads(json_path.read_text())
    names = [] if args.render_only else [n for n in (args.only or MODULES) if n not in args.skip]
    machine = suite.machine_info()
    print(f"# {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB, load {machine['load_avg_start']}, "
          f"TF {machine.get('tensorflow')}, oneDNN {machine['onednn']}, GPUs {machine.get('gpus') or 'none'}",
          flush=True)
    figures: dict[str, dict] = {}
    failed = []
    for other in args.merge:
        other_doc = json.loads(other.read_text())
        previous = {"figures": {**(previous or {}).get("figures", {}), **other_doc["figures"]},
                    "machines": {**(previous or {}).get("machines", {}), **other_doc["machines"]}}
    run_id = suite.run_id_now()
    history = HISTORY if (suite.ROOT / HISTORY).is_file() else None
    markdown = args.markdown or args.out / "BENCHMARKS.md"

    def save() -> None:
        """JSON and Markdown after every module: an interrupted suite keeps what it measured."""
        doc = suite.write_json(json_path, machine, figures, previous, run_id=run_id)
        tmp_md = markdown.with_name(markdown.name + ".tmp")
        tmp_md.write_text(suite.render_markdown(doc, history))
        tmp_md.replace(markdown)

    with tempfile.TemporaryDirectory(prefix="srbench-bench-") as tmp:
        for name in names:
            ctx = suite.Context(smoke=args.smoke, workdir=Path(tmp) / name, repeat=1 if args.smoke else args.repeat,
                                out=args.out)
            ctx.workdir.mkdir(parents=True)
            print(f"\n== {name} ==", flush=True)
            start = time.perf_counter()
            try:
                module = importlib.import_module(MODULES[name])
                results = module.run(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others
                traceback.print_exc()
                failed.append(name)
                results = [suite.Figure(id=fid, status=suite.NOT_MEASURED, smoke=args.smoke,
                                        summary=f"failed: {type(exc).__name__}: {exc}")
                           for fid in getattr(sys.modules.get(MODULES[name]), "FIGURE_IDS", [])]
            for fig in results:
                fig.seconds = time.perf_counter() - start
                figures[fig.id] = fig.to_dict()
                _print_figure(figures[fig.id])
            save()
    save()
    print(f"\nwrote {json_path} and {markdown}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _print_figure(fig: dict) -> None:
    print(f"[{fig['id']}] {fig['title']}: {suite._fmt(fig.get('value'))} {fig.get('unit', '')}"
          f"  peer {fig.get('peer') or '-'} {suite._fmt(fig.get('peer_value'))}  ratio {suite._fmt(fig.get('ratio'))}"
          f"  target {fig['target']}  -> {suite._verdict(fig)} [{suite._mark(fig)}] load {fig.get('load_avg')}",
          flush=True)
    if fig.get("columns"):
        print("  " + " | ".join(fig["columns"]))
        for row in fig["rows"]:
            print("  " + " | ".join(suite._fmt(v) for v in row))


if __name__ == "__main__":
    sys.exit(main())
