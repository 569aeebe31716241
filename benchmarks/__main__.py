"""``python -m benchmarks [startup] [scoring] [calibration] [simulation] [policy] [--all] [--quick] [--json PATH]``."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from benchmarks import Result

NAMES = ("startup", "scoring", "calibration", "simulation", "policy")
DEFAULT = ("startup", "scoring")


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"


def table(res: Result) -> str:
    """A readable table of one benchmark's rows."""
    head = ", ".join(f"{k}={v}" for k, v in res.settings.items() if not isinstance(v, (dict, list)))
    lines = [f"== {res.name}  ({head})",
             f"{'metric':<52} {'value':>12} {'unit':<11} {'ratio':>9}  {'baseline':<34} {'target':<14}"]
    for r in res.rows:
        ratio = f"{r.ratio:.3g}x" if r.ratio is not None else ""
        verdict = {True: "ok", False: "MISSED", None: ""}[r.ok]
        lines.append(f"{r.metric:<52} {_fmt(r.value):>12} {r.unit:<11} {ratio:>9}  {r.baseline:<34} "
                     f"{r.target:<14} {verdict}".rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Speed and memory of b12sim as ratios against baselines measured in the same run.")
    ap.add_argument("names", nargs="*", metavar="BENCHMARK",
                    help=f"any of {', '.join(NAMES)} (default: {' '.join(DEFAULT)})")
    ap.add_argument("--all", action="store_true",
                    help="run every benchmark, including the slow calibration and simulation")
    ap.add_argument("--quick", action="store_true", help="smaller problem sizes")
    ap.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # smoke run of this code
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        ap.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    chosen = NAMES if args.all else [n for n in NAMES if n in args.names] or DEFAULT
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    results = []
    for name in chosen:
        t0 = time.perf_counter()
        res = importlib.import_module(f"benchmarks.{name}").run(size)
        print(table(res) + f"\n   ({time.perf_counter() - t0:.0f} s)\n", flush=True)
        results.append(res)
    if args.json:
        from b12sim import __version__

        meta = {"b12sim": __version__, "size": size, "python": platform.python_version(),
                "platform": platform.platform(), "cpus": os.cpu_count(),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        doc = {"meta": meta, "results": {r.name: dataclasses.asdict(r) for r in results}}
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
