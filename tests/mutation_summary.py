"""Kill rate per module from mutmut's results in mutants/ (run by ``make mutation``).

A surviving mutant listed in tests/mutation_equivalent.txt (one mutant name per line, ``#`` starts
a comment giving the reason) is counted as equivalent: it cannot change any observable result.
Usage: python tests/mutation_summary.py [--survivors]
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def equivalent_mutants() -> dict[str, str]:
    path = ROOT / "tests" / "mutation_equivalent.txt"
    out = {}
    for line in path.read_text().splitlines() if path.is_file() else []:
        name, _, why = line.partition("#")
        if name.strip():
            out[name.strip()] = why.strip()
    return out


def main(argv: list[str]) -> int:
    from mutmut.stats import status_by_exit_code

    equivalent = equivalent_mutants()
    counts: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    untested: dict[str, Counter] = defaultdict(Counter)  # module -> function -> mutants no test reaches
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        module = ".".join(meta.relative_to(ROOT / "mutants").with_suffix("").with_suffix("").parts)
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            status = status_by_exit_code[code]
            if status == "not checked":
                continue
            if status == "survived" and name in equivalent:
                status = "equivalent"
            counts[module][status] += 1
            if status == "survived":
                survivors[module].append(name)
            if status == "no tests":
                untested[module][name.rpartition("__mutmut_")[0]] += 1
    if not counts:
        print("no mutmut results in mutants/: run `make mutation` first")
        return 1
    # "no tests": mutants of functions no selected test reaches (in practice the TensorFlow-dependent
    # ones, which mutmut's TensorFlow-free selection cannot run); shown apart, never counted as killed.
    print("| module | mutants | killed | equivalent | survived | no tests | other | killed % | killed or equivalent % "
          "| killed % of reached |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for module, c in sorted(counts.items()):
        total = sum(c.values())
        killed = c["killed"] + c["timeout"]
        other = total - killed - c["equivalent"] - c["survived"] - c["no tests"]
        reached = total - c["no tests"]
        print(f"| {module} | {total} | {killed} | {c['equivalent']} | {c['survived']} | {c['no tests']} | {other} | "
              f"{100 * killed / total:.1f} | {100 * (killed + c['equivalent']) / total:.1f} | "
              f"{100 * killed / reached if reached else 0:.1f} |")
    if "--survivors" in argv:
        for module, names in sorted(survivors.items()):
            print(f"\n{module}: {len(names)} surviving (not listed as equivalent)")
            for name in names:
                print(f"  {name}")
        for module, functions in sorted(untested.items()):
            print(f"\n{module}: {sum(functions.values())} mutants that no selected test reaches")
            for function, count in sorted(functions.items()):
                print(f"  {function}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
