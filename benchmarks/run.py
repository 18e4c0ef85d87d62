#!/usr/bin/env python3
"""Benchmark driver: one fresh process per (workload, framework), side-by-side table.

    python benchmarks/run.py                          # W1-W7, every framework
    python benchmarks/run.py --workloads W1 --frameworks theanine,pytensor,numpy
    python benchmarks/run.py --quick --frameworks numpy   # smoke test, a few seconds
    python benchmarks/run.py --markdown benchmarks/RESULTS-table.md --json results.json

theanine runs under --theanine-python (default: this interpreter) with the repo root
on PYTHONPATH; the peers run under --peers-python (default: .bench-venv/bin/python when
it exists, else this interpreter).  Every run gets its own empty temporary cache
directories (PyTensor's base_compiledir and Numba cache, theanine's compiledir,
XDG_CACHE_HOME), so compile times are cold; --warm runs each pair a second time
with the same caches kept and adds "(warm)" rows for the compile metrics.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import resource
except ImportError:  # pragma: no cover (not POSIX)
    resource = None
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import workloads  # noqa: E402
from benchmarks.frameworks import FRAMEWORKS, is_theanine  # noqa: E402

WORKER = ROOT / "benchmarks" / "worker.py"
DEFAULT_PEERS_PYTHON = ROOT / ".bench-venv" / "bin" / "python"


def child_env(python_kind: str, cache: Path, warm: bool) -> dict:
    env = dict(os.environ)
    if python_kind == "theanine":
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH")] if p)
    env["PYTENSOR_FLAGS"] = ",".join(
        p for p in [env.get("PYTENSOR_FLAGS"), f"base_compiledir={cache / 'pytensor'}"] if p)
    env["THEANINE_FLAGS"] = ",".join(
        p for p in [env.get("THEANINE_FLAGS"), f"compiledir={cache / 'theanine'}"] if p)
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    env["XDG_CACHE_HOME"] = str(cache / "xdg")
    env["TORCHINDUCTOR_CACHE_DIR"] = str(cache / "inductor")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # JAX: no persistent cache unless --warm
    if warm:
        env["JAX_COMPILATION_CACHE_DIR"] = str(cache / "jax")
    env["PYTHONHASHSEED"] = "0"
    return env


def _busy_s():
    """CPU seconds spent busy by the whole machine so far (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s():
    if resource is None:
        return 0.0
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_quiet(max_wait: float, threshold: float = 0.25) -> float:
    """Wait (at most max_wait s) until the machine's other load is below threshold cores
    for two consecutive seconds; returns the seconds waited."""
    t0 = time.monotonic()
    quiet = 0
    while time.monotonic() - t0 < max_wait:
        b0 = _busy_s()
        if b0 is None:
            break
        time.sleep(1.0)
        quiet = quiet + 1 if _busy_s() - b0 < threshold else 0
        if quiet >= 2:
            break
    return time.monotonic() - t0


def run_one(python: str, workload: str, fw, quick: bool, cache: Path, warm_cache: bool,
            timeout: float, full: bool = False) -> dict:
    cmd = [python, str(WORKER), workload, fw.name] + (["--quick"] if quick else [])
    if full:
        cmd.append("--full")
    if warm_cache:
        cmd.append("--warm-cache")
    base = {"workload": workload, "framework": fw.name}
    busy0, cpu0, t0 = _busy_s(), _children_cpu_s(), time.monotonic()
    try:
        proc = subprocess.run(cmd, env=child_env(fw.python, cache, warm_cache), cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)
        wall = time.monotonic() - t0
        # CPU used by everything else on the machine while the child ran, in cores
        base["other_load"] = (None if busy0 is None else
                              max(0.0, (_busy_s() - busy0) - (_children_cpu_s() - cpu0)) / wall)
    except subprocess.TimeoutExpired:
        return {**base, "status": "error", "error": f"timed out after {timeout:.0f} s"}
    except OSError as e:
        return {**base, "status": "not installed", "error": str(e)}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("BENCH_RESULT "):
            res = json.loads(line[len("BENCH_RESULT "):])
            res["other_load"] = base.get("other_load")
            if res.get("status") == "error":
                res["stderr_tail"] = proc.stderr[-2000:]
            return res
    tail = (proc.stderr or proc.stdout)[-2000:]
    return {**base, "status": "error", "error": f"exit {proc.returncode}", "stderr_tail": tail}


def fmt_value(v, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "text" or isinstance(v, str):
        return str(v)
    if unit == "value":
        return f"{v:.6g}"
    if unit == "x":
        return f"{v:.3g}x"
    if unit == "us" and v < 0.9995e-3:
        return f"{v * 1e6:.3g} us"
    if unit in ("us", "ms") and v < 0.9995:
        return f"{v * 1e3:.3g} ms"
    if unit in ("us", "ms"):
        return f"{v:.3g} s"
    if unit == "s":
        return f"{v:.3g} s" if v >= 0.1 else f"{v * 1e3:.3g} ms"
    return str(v)


def table(workload: str, results: dict, fws: list, warm: bool, full: bool = False) -> str:
    """results: framework name -> result dict (as printed by the worker)."""
    module = workloads.load(workload)
    rows = []
    for m in module.METRICS:
        if m.full and not full:
            continue
        rows.append((m, m.key, m.label))
        if warm and (m.compile or m.warm_twin):
            rows.append((m, m.key + "_warm", m.label + (" (warm)" if m.compile else
                                                        " (warm process)")))
    peers = [f for f in fws if not is_theanine(f)]
    ours = [f for f in fws if is_theanine(f)]
    head = ["metric"] + [FRAMEWORKS[f].label for f in fws]
    head += ["best peer"] + [f"{FRAMEWORKS[f].label} / best peer" for f in ours]
    lines = [f"### {module.TITLE}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]

    def value(f, key):
        r = results.get(f, {})
        return r.get("metrics", {}).get(key) if r.get("status") == "ok" else None

    def status_cell(f):
        r = results.get(f, {})
        return r.get("status", "-") if r.get("status") != "ok" else None

    for m, key, label in rows:
        cells = [label]
        for f in fws:
            st = status_cell(f)
            cells.append(st if st else fmt_value(value(f, key), m.unit))
        best, best_f = None, None
        if m.better in ("lower", "higher"):
            cand = [(value(f, key), f) for f in peers if isinstance(value(f, key), (int, float))]
            if cand:
                best, best_f = (min if m.better == "lower" else max)(cand)
        cells.append(f"{FRAMEWORKS[best_f].label} {fmt_value(best, m.unit)}" if best_f else "-")
        for f in ours:
            tv, ratio = value(f, key), "-"
            if best and isinstance(tv, (int, float)):
                ratio = f"{tv / best:.2f}x"
            elif best is not None and results.get(f, {}).get("status") != "ok":
                ratio = "pending"
            cells.append(ratio)
        lines.append("| " + " | ".join(cells) + " |")
    # correctness row
    cells = ["result check"]
    for f in fws:
        r = results.get(f, {})
        st = status_cell(f)
        ok = r.get("metrics", {}).get("ok")
        cells.append(st if st else ("ok" if ok else "**FAIL**"))
    lines.append("| " + " | ".join(cells + [""] * (1 + len(ours))) + " |")
    cells = ["other CPU load during the run (cores)"]
    for f in fws:
        r = results.get(f, {})
        cells.append("-" if r.get("other_load") is None else f"{_load(r):.2f}")
    lines.append("| " + " | ".join(cells + [""] * (1 + len(ours))) + " |")
    return "\n".join(lines)


def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "theanine"], cwd=ROOT,
                               text=True, capture_output=True, timeout=10).stdout.strip()
        return head + (" + uncommitted changes under theanine/" if dirty else "")
    except Exception:
        return "unknown"


def cpu_model() -> str:
    """The processor's model name (and family, model), from /proc/cpuinfo where there is one:
    the hosts of one machine kind differ, and the figures with them."""
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines()
                        if ":" in line)
    except OSError:
        return platform.processor() or "unknown processor"
    info = {k.strip(): v.strip() for k, v in info.items()}
    return f"{info.get('model name', '?')}, family {info.get('cpu family', '?')} model " \
           f"{info.get('model', '?')}"


def loadavg() -> str:
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def _load(res) -> float:
    """The most other load seen during a cell's processes (cold and warm)."""
    vals = [res.get("other_load"), (res.get("warm_run") or {}).get("other_load")]
    return max([v for v in vals if v is not None], default=0.0)


def measure_cell(args, python, w, fw) -> dict:
    """One cell: a cold process, plus with --warm a second one sharing its caches."""
    cache = Path(tempfile.mkdtemp(prefix=f"bench-{w}-{fw.name}-"))
    started, git = datetime.datetime.now().isoformat(timespec="seconds"), git_state()
    try:
        if args.quiet_wait > 0:
            wait_quiet(args.quiet_wait)
        res = run_one(python, w, fw, args.quick, cache, args.warm, args.timeout, args.full)
        if args.warm and res.get("status") == "ok":
            if args.quiet_wait > 0:
                wait_quiet(args.quiet_wait)
            res2 = run_one(python, w, fw, args.quick, cache, True, args.timeout, args.full)
            res["warm_run"] = res2
            add_warm_metrics(w, res)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    res["started"], res["git"] = started, git
    return res


def add_warm_metrics(w: str, res: dict) -> None:
    """Copy the warm run's compile (and warm_twin) metrics into ``res`` as ``KEY_warm``."""
    res2 = res.get("warm_run") or {}
    if res.get("status") == "ok" and res2.get("status") == "ok":
        for m in workloads.load(w).METRICS:
            if (m.compile or m.warm_twin) and m.key in res2["metrics"]:
                res["metrics"][m.key + "_warm"] = res2["metrics"][m.key]


def from_json(args, fws) -> int:
    """Tables from saved --json files, without measuring (later files win per cell)."""
    cells, warm = {}, args.warm
    for path in args.from_json:
        for r in json.loads(Path(path).read_text()):
            if r.get("warm_run"):
                warm = True
            add_warm_metrics(r["workload"], r)
            cells[(r["workload"], r["framework"])] = r
    wls = [w for w in workloads.names() if any(k[0] == w for k in cells)]
    if args.workloads_given:
        wls = [w for w in wls if w in args.workloads_given]
    fws = [f for f in fws if any(k[1] == f for k in cells)]
    text = "\n\n".join(
        table(w, {f: r for (w2, f), r in cells.items() if w2 == w}, fws, warm, args.full)
        for w in wls) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default=",".join(workloads.names()),
                    help="comma-separated, default: all (%(default)s)")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                    help="comma-separated, default: all (%(default)s)")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    ap.add_argument("--full", action="store_true",
                    help="also the slow full-run metrics (W4: the whole 3-epoch training)")
    ap.add_argument("--warm", action="store_true",
                    help="also run each pair a second time with its caches kept")
    ap.add_argument("--markdown", metavar="FILE", help="write the tables to FILE")
    ap.add_argument("--json", metavar="FILE", help="write the raw per-process results to FILE")
    ap.add_argument("--theanine-python", default=sys.executable)
    ap.add_argument("--peers-python",
                    default=str(DEFAULT_PEERS_PYTHON) if DEFAULT_PEERS_PYTHON.exists()
                    else sys.executable)
    ap.add_argument("--quiet-wait", type=float, default=0.0, metavar="SECONDS",
                    help="before each process, wait up to SECONDS for the machine's other "
                    "load to drop below 0.25 cores (default: don't wait)")
    ap.add_argument("--max-other-load", type=float, default=0.1, metavar="CORES",
                    help="a cell measured while the rest of the machine used more than this "
                    "is measured again, up to --retries times; the quietest is kept")
    ap.add_argument("--retries", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1200.0, help="per process, seconds")
    ap.add_argument("--from-json", nargs="+", metavar="FILE",
                    help="measure nothing: print the tables of saved --json files (a cell "
                    "in a later file replaces the same cell of an earlier one)")
    args = ap.parse_args(argv)
    args.workloads_given = None

    wls = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    fws = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    for w in wls:
        if w not in workloads.names():
            ap.error(f"unknown workload {w!r}; known: {', '.join(workloads.names())}")
    for f in fws:
        if f not in FRAMEWORKS:
            ap.error(f"unknown framework {f!r}; known: {', '.join(FRAMEWORKS)}")

    if args.from_json:
        if "--workloads" in (argv if argv is not None else sys.argv):
            args.workloads_given = wls
        return from_json(args, fws)

    # byte-compile theanine as `pip install` does for the peers' packages (a checkout run
    # with PYTHONDONTWRITEBYTECODE would otherwise compile its sources in every compile row)
    compileall.compile_dir(str(ROOT / "theanine"), quiet=1)
    started = datetime.datetime.now()
    load_before = loadavg()
    all_results, sections, versions = [], [], {}
    for w in wls:
        results = {}
        for f in fws:
            fw = FRAMEWORKS[f]
            python = args.theanine_python if fw.python == "theanine" else args.peers_python
            res = None
            for attempt in range(1 + max(0, args.retries)):
                print(f"[{w}] {f:<22} ...", end=" ", file=sys.stderr, flush=True)
                t0 = time.perf_counter()
                r = measure_cell(args, python, w, fw)
                msg = r["status"]
                if r.get("other_load") is not None:
                    msg += f" (other load {r['other_load']:.2f} cores)"
                if r["status"] == "ok" and not r["metrics"].get("ok", True):
                    msg += " (RESULT CHECK FAILED)"
                if r["status"] != "ok":
                    msg += f": {r.get('error', '')}"
                print(f"{msg} [{time.perf_counter() - t0:.1f} s]", file=sys.stderr, flush=True)
                if r["status"] == "error" and r.get("stderr_tail"):
                    print(r["stderr_tail"], file=sys.stderr)
                if res is None or (r["status"] == "ok" and (
                        res["status"] != "ok" or _load(r) < _load(res))):
                    res = r
                if (r["status"] != "ok" or _load(res) <= args.max_other_load
                        or attempt >= args.retries):
                    break
                print(f"[{w}] {f}: too much other load, measuring again", file=sys.stderr)
            results[f] = res
            all_results.append(res)
            versions.update(res.get("versions") or {})
        sections.append(table(w, results, fws, args.warm, args.full))

    header = [
        "## Benchmark results",
        "",
        f"- date: {started:%Y-%m-%d %H:%M}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), "
        f"{platform.system()} {platform.release()}",
        f"- theanine: git {git_state()}",
        f"- load average (1/5/15 min): {load_before} before, {loadavg()} after",
        f"- python: theanine `{args.theanine_python}`, peers `{args.peers_python}`",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        "- OpenBLAS settings passed to every cell: " + ", ".join(
            f"{k}={os.environ.get(k, 'unset')}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
        + " (a CORETYPE forces those kernels: run with both unset to get the ones a current"
        " OpenBLAS picks for this processor)",
        f"- command: `python benchmarks/run.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "- method: one fresh process per cell, cold on-disk compile caches"
        + (" (warm rows: the same process run again with its caches kept)" if args.warm else "")
        + "; per-call figures are medians of individually timed calls (perf_counter_ns) after a"
        " warm-up, with the garbage collector disabled during the timing loop.",
        "",
    ]
    text = "\n".join(header) + "\n" + "\n\n".join(sections) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(all_results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
