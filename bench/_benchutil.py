"""Small helpers shared by the indexing and search benchmarks (timing on a noisy, shared 2-core machine)."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass

CPUS = os.cpu_count() or 1


def _system_busy_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat (None off Linux)."""
    try:
        with open("/proc/stat") as fh:
            parts = fh.readline().split()
    except OSError:
        return None
    vals = [int(v) for v in parts[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    total = sum(vals[:8])  # guest time is already inside user
    return total - idle, total


@dataclass
class CpuSample:
    wall: float
    own: float  # CPU seconds of this process (all threads)
    system: tuple[int, int] | None


def cpu_sample() -> CpuSample:
    t = os.times()
    return CpuSample(time.perf_counter(), t.user + t.system, _system_busy_ticks())


def cpu_usage(a: CpuSample, b: CpuSample) -> dict:
    """How busy the machine was between two samples, in cores: this process, and everything else ("foreign": other
    people's jobs on a shared machine, which make a timing unreliable)."""
    wall = max(b.wall - a.wall, 1e-9)
    own = (b.own - a.own) / wall
    out = {"wall_s": round(wall, 4), "own_cores": round(own, 2)}
    if a.system and b.system:
        hz = os.sysconf("SC_CLK_TCK")
        busy = (b.system[0] - a.system[0]) / hz / wall
        out["foreign_cores"] = round(max(0.0, busy - own), 2)
    return out


def rss_bytes(field: str = "VmRSS") -> int:
    """Resident set size of this process: now (VmRSS) or its peak so far (``field="VmHWM"``)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000.0 for s in seconds]
    return {"median_ms": round(statistics.median(ms), 3), "p90_ms": round(percentile(ms, 90), 3),
            "max_ms": round(max(ms), 3), "min_ms": round(min(ms), 3), "n": len(ms)}


def machine() -> dict:
    import numpy
    import PIL

    info = {"cpus": CPUS, "python": platform.python_version(), "numpy": numpy.__version__, "pillow": PIL.__version__}
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["loadavg_at_start"] = [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        pass
    return info


def foreign_load(seconds: float = 1.0) -> float | None:
    """Cores used by other processes over the next ``seconds`` (this process is idle meanwhile)."""
    a = cpu_sample()
    time.sleep(seconds)
    return cpu_usage(a, cpu_sample()).get("foreign_cores")


def wait_for_quiet(max_wait: float, threshold: float = 0.3, log=None) -> float | None:
    """Wait (at most ``max_wait`` s) until other processes use less than ``threshold`` cores.

    Returns the last load seen. The machine is shared: a test suite started by someone else halves our throughput.
    Waiting a little before each timed run, and recording the foreign load during it, keeps the figures comparable."""
    start = time.perf_counter()
    load = foreign_load(0.5)
    warned = False
    while load is not None and load > threshold and time.perf_counter() - start < max_wait:
        if log and not warned:
            log(f"  (machine busy: {load:.2f} cores used by other processes; waiting up to {max_wait:.0f} s)")
            warned = True
        load = foreign_load(1.0)
    return load


def malloc_trim() -> None:
    """Give freed heap memory back to the OS (glibc), so RSS reflects live data rather than freed temporaries."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak_rss() -> bool:
    """Reset VmHWM (Linux >= 4.0: write 5 to /proc/self/clear_refs); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Peak resident set size (VmHWM) since start or the last reset_peak_rss()."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run_cli(*argv: str) -> str:
    """Run ``tagger ARGV...`` in this process as a user would, returning what it printed; stop the bench if it fails."""
    import contextlib
    import io

    from tagger.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    if code != 0:
        raise SystemExit(f"tagger {' '.join(argv[:4])} ... failed ({code}): {out.getvalue()}")
    return out.getvalue()
