"""Run one command as a child process and measure it: wall time, CPU time and peak memory.

Peak memory is the largest resident set of the whole process tree (the child and every process
it starts, summed), sampled from /proc; ``wait4`` adds the kernel's own high-water mark of the
largest single process, which catches peaks shorter than the sampling interval.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Measurement:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float  # the process tree, summed
    max_process_rss_mb: float  # the largest single process (kernel high-water mark)
    load_avg_before: tuple[float, float, float]
    load_avg_after: tuple[float, float, float]

    def figures(self) -> dict:
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3),
                "peak_rss_mb": round(self.peak_rss_mb, 1), "max_process_rss_mb": round(self.max_process_rss_mb, 1),
                "load_avg_before": [round(x, 2) for x in self.load_avg_before],
                "load_avg_after": [round(x, 2) for x in self.load_avg_after]}


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids.extend(int(k) for k in f.read().split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return kids


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_BYTES
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0


def tree_rss_bytes(root: int) -> int:
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_bytes(pid)
        stack.extend(_children(pid))
    return total


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._done.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._done.set()
        self.join()


def measure(cmd: list[str], *, env: dict | None = None, cwd: Path | None = None, log: Path | None = None) -> Measurement:
    """Run ``cmd`` to completion; its output goes to ``log`` (not a pipe, so it cannot block)."""
    load_before = os.getloadavg()
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        # Linux starts a child's high-water mark at its parent's (the child begins in the parent's
        # memory, and exec keeps the maximum): a mark no higher than that says nothing about the
        # child. Read once Popen has returned, after the exec, so that whatever the harness
        # allocated while spawning is in it too (read before, a harness at its own peak lent it).
        inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        # wait4 rather than Popen.wait: it returns the child's own resource usage
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()
    max_process = usage.ru_maxrss * 1024  # kilobytes on Linux
    if max_process <= inherited:
        max_process = 0
    return Measurement(
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=max(sampler.peak, max_process) / 2**20,
        max_process_rss_mb=max_process / 2**20,
        load_avg_before=load_before,
        load_avg_after=os.getloadavg(),
    )
