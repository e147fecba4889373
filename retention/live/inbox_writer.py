"""Durable writes into the inbox.

- ``write_atomic``: a whole file appears complete or not at all: the bytes go to a hidden temp file
  in the same directory (ingestion ignores dot files), are fsynced, renamed into place, and the
  directory is fsynced so the rename itself survives a crash.
- ``AppendLog``: one line per call appended to a file, a lock per file so concurrent lines never
  interleave, and a group-committed fsync: ``append`` returns only once the line is on disk, but
  one ``fsync`` covers every line written before it started (the way databases commit).
- ``write_json_atomic``: small state files (cursors), same guarantees as ``write_atomic``.
- ``tmp_path`` / ``remove_orphan_tmp``: a temporary file's name carries its writer's process id,
  so that a later run can tell the leftovers of a killed writer (process gone: removed) from a
  write under way in another live process (the webhook receiver while ingestion runs: kept).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from pathlib import Path

_TMP_WRITER = re.compile(r"\.(?P<pid>\d+)-[0-9a-f]{32}\.tmp\Z")
# A temporary file named without its writer's id (an older release) and untouched this long is no
# live write's: an atomic write lasts milliseconds.
UNNAMED_ORPHAN_AGE_S = 3600


def tmp_path(final: Path, hidden: bool = True) -> Path:
    """A unique temporary name beside ``final`` that names the writing process:
    ``.<name>.<pid>-<uuid>.tmp`` (hidden, so that inbox readers skip it) or ``<name>.<pid>-<uuid>.tmp``."""
    return final.parent / f"{'.' if hidden else ''}{final.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (PermissionError): alive
        return True
    return True


def _is_orphan(path: Path, now: float) -> bool:
    named = _TMP_WRITER.search(path.name)
    if named:
        return not process_alive(int(named["pid"]))
    try:
        return now - path.stat().st_mtime > UNNAMED_ORPHAN_AGE_S
    except FileNotFoundError:
        return False


def remove_orphan_tmp(folder: Path) -> int:
    """Remove the ``*.tmp`` files under ``folder`` whose writing process is gone; returns how many.

    A writer that is still running keeps its file, whatever its age. (A process id reused by a new
    process only delays the removal to a later run.)"""
    if not folder.is_dir():
        return 0
    now, removed = time.time(), 0
    for path in folder.rglob("*.tmp"):
        if path.is_file() and _is_orphan(path, now):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _DirSyncer:
    """Group commit of directory fsyncs: a caller whose rename happened before a sync started is
    covered by that sync and does not start another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[Path, list] = {}  # dir -> [lock, renames_done, renames_synced]

    def _entry(self, directory: Path) -> list:
        with self._lock:
            entry = self._state.get(directory)
            if entry is None:
                entry = self._state[directory] = [threading.Lock(), 0, 0, threading.Lock()]
            return entry

    def renamed(self, directory: Path) -> int:
        entry = self._entry(directory)
        with entry[3]:
            entry[1] += 1
            return entry[1]

    def sync(self, directory: Path, seq: int) -> None:
        entry = self._entry(directory)
        with entry[0]:
            if entry[2] >= seq:
                return
            with entry[3]:
                target = entry[1]
            fsync_dir(directory)
            entry[2] = target


_DIRS = _DirSyncer()


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the whole file or nothing, durably."""
    path = Path(path)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    _DIRS.sync(directory, _DIRS.renamed(directory))
    return path


def write_json_atomic(path: Path, doc) -> Path:
    return write_atomic(Path(path), (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path, default):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return default


class _OpenFile:
    __slots__ = ("fd", "lock", "sync_lock", "written", "synced", "users")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lock = threading.Lock()       # serialises writes: no interleaved lines
        self.sync_lock = threading.Lock()  # one fsync at a time; later callers piggy-back
        self.written = 0
        self.synced = 0
        self.users = 0


class AppendLog:
    """Durable line appends to many files (one open descriptor per file, closed when idle)."""

    def __init__(self, max_open: int = 64) -> None:
        self._lock = threading.Lock()
        self._files: dict[Path, _OpenFile] = {}
        self._max_open = max_open

    def _acquire(self, path: Path) -> _OpenFile:
        with self._lock:
            entry = self._files.get(path)
            if entry is None:
                created = not path.exists()
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                size = os.fstat(fd).st_size
                if size:
                    # a torn last line (a crash mid-write) must not swallow the next line
                    with open(path, "rb") as f:
                        f.seek(size - 1)
                        if f.read(1) != b"\n":
                            os.write(fd, b"\n")
                entry = self._files[path] = _OpenFile(fd)
                if created:
                    os.fsync(fd)
                    fsync_dir(path.parent)
                self._evict_idle()
            entry.users += 1
            return entry

    def _evict_idle(self) -> None:
        if len(self._files) <= self._max_open:
            return
        for p, e in list(self._files.items()):
            if e.users == 0 and len(self._files) > self._max_open:
                os.close(e.fd)
                del self._files[p]

    def _release(self, entry: _OpenFile) -> None:
        with self._lock:
            entry.users -= 1

    def append(self, path: Path, line: bytes) -> None:
        """Append ``line`` (a newline is added) and return once it is on disk."""
        if b"\n" in line or b"\r" in line:
            raise ValueError("a line cannot contain a line break")
        entry = self._acquire(Path(path))
        try:
            data = line + b"\n"
            with entry.lock:
                view = memoryview(data)
                while view:
                    view = view[os.write(entry.fd, view):]
                entry.written += 1
                seq = entry.written
            with entry.sync_lock:
                if entry.synced < seq:
                    with entry.lock:
                        target = entry.written
                    os.fsync(entry.fd)
                    entry.synced = target
        finally:
            self._release(entry)

    def close(self) -> None:
        with self._lock:
            for entry in self._files.values():
                os.fsync(entry.fd)
                os.close(entry.fd)
            self._files.clear()
