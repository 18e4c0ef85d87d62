"""Child process: run one (workload, framework) pair and print one JSON line.

Usage: python benchmarks/worker.py WORKLOAD FRAMEWORK [--quick] [--full] [--warm-cache]

The last stdout line is ``BENCH_RESULT {json}``.  Run by ``benchmarks/run.py``; the
driver sets the cache directories (cold or shared-for-warm) in the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("workload")
    ap.add_argument("framework")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true", help="also the slow full-run metrics")
    ap.add_argument("--warm-cache", action="store_true")
    args = ap.parse_args(argv)

    from benchmarks import workloads
    from benchmarks.frameworks import FRAMEWORKS, setup
    from benchmarks.harness import timer_overhead_ns

    fw = FRAMEWORKS[args.framework]
    out = {"workload": args.workload, "framework": fw.name, "status": "ok",
           "python": platform.python_version(), "pid": os.getpid()}
    try:
        try:
            ctx = setup(fw, args.quick, args.warm_cache, args.full)
        except ImportError as e:
            out.update(status="not installed", error=f"{type(e).__name__}: {e}")
            return _emit(out)
        module = workloads.load(args.workload)
        runner = workloads.runner_for(module, fw.name, fw.family,
                                      fw.options.get("own_runner", False))
        if runner is None:
            out.update(status="n/a", error="no runner for this framework")
            return _emit(out)
        out["versions"] = ctx.versions
        out["import_s"] = ctx.import_s
        out["timer_overhead_ns"] = timer_overhead_ns()
        t0 = time.perf_counter()
        out["metrics"] = runner(ctx)
        out["wall_s"] = time.perf_counter() - t0
    except Exception as e:  # report, don't crash the driver
        out.update(status="error", error=f"{type(e).__name__}: {e}")
        traceback.print_exc()
    return _emit(out)


def _emit(out) -> int:
    sys.stdout.flush()
    print("BENCH_RESULT " + json.dumps(out, default=_jsonable), flush=True)
    return 0


def _jsonable(v):
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return v.item()
    except ImportError:  # pragma: no cover
        pass
    return str(v)


if __name__ == "__main__":
    sys.exit(main())
