"""Policy comparison: wall time at scale, Dask workers, memory against population size.

* scale: ``compare_strategies`` on a sample of a synthetic cohort with 4 strategies
  x 100 draws x 1 year, in this process; the time for the issue's 100,000 people is
  extrapolated from the sample's rate (the row says so);
* workers: one fixed problem on a Dask LocalCluster of 1 and of 2 workers (ratio
  of wall times; the in-process run is the baseline of both);
* memory: peak resident memory of a child process for two population sizes at the
  same chunk size (memory should follow the chunk, not the population).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from benchmarks import ROOT, Result, Row

STRATEGIES = ["uk_im_hydroxo", "us_im_cyano_monthly", "oral_1mg", "im_loading_then_oral"]
TARGET_PEOPLE, TARGET_DRAWS = 100_000, 100
SAMPLE = {"full": (1024, 100), "quick": (256, 100), "tiny": (64, 4)}  # people, draws of the scale run
WORKERS = {"full": (1024, 20), "quick": (512, 10), "tiny": (128, 2)}  # people, draws of the Dask comparison
MEMORY = {"full": ((512, 2048), 20, 128), "quick": ((256, 1024), 10, 128), "tiny": ((64, 256), 2, 64)}
SEED = 20261127

_CHILD = """
import json, resource, sys, warnings
warnings.simplefilter("ignore")
from b12sim.policy.compare import compare_strategies
n, draws, chunk = map(int, sys.argv[1:4])
compare_strategies(n, {strategies!r}, draws=draws, seed={seed}, chunk_people=chunk, progress=False)
print(json.dumps({{"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


def _timed(**kw) -> float:
    from b12sim.policy.compare import compare_strategies

    t0 = time.perf_counter()
    compare_strategies(kw.pop("n"), STRATEGIES, seed=SEED, progress=False, **kw)
    return time.perf_counter() - t0


def _peak_rss(n: int, draws: int, chunk: int) -> int:
    code = _CHILD.format(strategies=STRATEGIES, seed=SEED)
    out = subprocess.run([sys.executable, "-c", code, str(n), str(draws), str(chunk)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["rss"])


def run(size: str) -> Result:
    import warnings

    warnings.simplefilter("ignore")
    n, draws = SAMPLE[size]
    res = Result("policy", {"size": size, "strategies": ",".join(STRATEGIES), "horizon_days": 365})
    _timed(n=64, draws=2)  # warm-up: kernel load, posteriors, presets
    t = _timed(n=n, draws=draws)
    cells = n * draws * len(STRATEGIES)
    rate = cells / t
    full = TARGET_PEOPLE * TARGET_DRAWS * len(STRATEGIES) / rate
    res.rows += [
        Row(f"{n:,} people x {len(STRATEGIES)} strategies x {draws} draws x 1 y", t, "s"),
        Row("person-strategy-draw years per second", rate, "/s"),
        Row(f"{TARGET_PEOPLE:,} x {len(STRATEGIES)} x {TARGET_DRAWS} x 1 y (extrapolated)", full / 3600, "h",
            target="wall time stated"),
    ]
    wn, wd = WORKERS[size]
    t_in = _timed(n=wn, draws=wd)
    t1 = _timed(n=wn, draws=wd, scheduler="local:1", chunk_people=128)
    t2 = _timed(n=wn, draws=wd, scheduler="local:2", chunk_people=128)
    res.rows += [
        Row(f"Dask 1 worker ({wn} people x {wd} draws, incl. cluster start)", t1, "s", t1 / t_in, "in-process"),
        Row("Dask 2 workers (same problem)", t2, "s", t2 / t1, "Dask 1 worker"),
    ]
    (small, big), md, chunk = MEMORY[size]
    r_small, r_big = _peak_rss(small, md, chunk), _peak_rss(big, md, chunk)
    res.rows += [
        Row(f"peak memory, {small:,} people (chunk {chunk})", r_small / 2**20, "MiB"),
        Row(f"peak memory, {big:,} people (chunk {chunk})", r_big / 2**20, "MiB", r_big / r_small,
            f"{small:,} people", "bounded by chunk", ok=r_big / r_small < 1.5),
    ]
    return res
