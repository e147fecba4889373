"""The peers (lifetimes, pymc-marketing) in environments of their own: they pin older libraries
than the project's, so each gets a virtualenv under the benchmark's data directory, made with uv
from the pinned requirements committed in bench/peers/<peer>.txt and keyed by their hash (a
changed pin makes a new environment; an unchanged one is reused). A peer runs as a child process
of that environment's Python, on files the harness writes, and answers in JSON."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from bench.machine import PROJECT_ROOT

PEERS_DIR = PROJECT_ROOT / "bench" / "peers"
PEERS = ("lifetimes", "pymc_marketing")
PEER_PYTHON = "3.11"
READY = ".bench-peer-ready"
# one BLAS/OpenMP thread in every fit process, the project's and the peers', so no side gets more cores
ONE_THREAD = {var: "1" for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


class PeerSetupError(RuntimeError):
    """A peer's environment could not be made (no uv, no network, a pin that does not install)."""


def requirements(peer: str) -> Path:
    return PEERS_DIR / f"{peer}.txt"


def script(peer: str) -> Path:
    return PEERS_DIR / f"{peer}_peer.py"


def env_dir(peer: str, root: Path) -> Path:
    key = hashlib.sha256(requirements(peer).read_bytes()).hexdigest()[:12]
    return Path(root) / "peers" / f"{peer}-{key}"


def _uv() -> str:
    for candidate in (os.environ.get("UV"), str(PROJECT_ROOT / ".uv" / "bin" / "uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise PeerSetupError("uv not found: install it (make install puts it in .uv/bin) or set UV=/path/to/uv")


def ensure_env(peer: str, root: Path) -> tuple[Path, dict]:
    """The peer's Python, making its environment first if needed: (python, {"cached", "setup_s"})."""
    target = env_dir(peer, root)
    python = target / "bin" / "python"
    if (target / READY).exists():
        return python, {"cached": True, "setup_s": 0.0, "env": str(target)}
    shutil.rmtree(target, ignore_errors=True)  # half made: start again
    started = time.perf_counter()
    uv = _uv()
    for cmd in ([uv, "venv", "--quiet", "--python", PEER_PYTHON, str(target)],
                [uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(requirements(peer))]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PeerSetupError(f"{peer}: {' '.join(cmd[1:3])} failed: {proc.stderr.strip()[-500:]}")
    (target / READY).write_text(requirements(peer).read_text())
    return python, {"cached": False, "setup_s": round(time.perf_counter() - started, 1), "env": str(target)}


def peer_env_vars(peer: str, root: Path) -> dict:
    """The environment a peer runs in: one BLAS thread, and pytensor's compiled code kept with the
    peer's environment rather than in the home directory."""
    env = {**os.environ, **ONE_THREAD, "PYTHONUNBUFFERED": "1"}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    if peer == "pymc_marketing":
        env["PYTENSOR_FLAGS"] = f"compiledir={env_dir(peer, root) / 'pytensor'}"
    return env
