"""One sending activation at a time per ledger: a lease row in the ledger database.

Frequency caps, priority and the daily promotional slot are decided from the ledger's history as
a run starts. Two runs deciding at once (two Dagster instances, a sensor run beside a manual one)
each miss the other's sends, and a customer gets two messages on one channel. Claims alone stop
the same message going twice, not two different messages. So a sending run first takes the lease:

    with RunLease(ledger, run_id, ttl=timedelta(seconds=120)).acquire(wait=timedelta(minutes=10)):
        ...  # decide and send

- taken in one ledger transaction (``BEGIN IMMEDIATE``, or Postgres's advisory lock): a free,
  expired or dead holder's row is replaced;
- renewed every ``ttl / 4`` by a heartbeat thread on its own connection, so a long send keeps it;
- a holder killed with ``kill -9`` stops renewing: its lease expires after ``ttl``; on the same
  host its process is seen to be gone (or its pid reused) and the lease is taken at once;
- every claim checks the lease's token in its own transaction (``Ledger.claim``), so a run that
  lost the lease (paused past its expiry while another took over) sends nothing more;
- a run that cannot get it within ``wait`` raises ``LeaseBusy`` naming the holder and since when.

Times here are the wall clock, not the run's ``now`` (which may be a replayed moment).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

log = logging.getLogger("retention.activation.lease")
LEASE_NAME = "activation"
LEASE_TTL = timedelta(seconds=120)  # a holder silent this long is presumed dead
LEASE_WAIT = timedelta(minutes=10)  # how long a second run waits before giving up
POLL_SECONDS = 0.25


class LeaseBusy(RuntimeError):
    """Another run holds the ledger's lease and did not free it within the wait."""

    def __init__(self, holder: LeaseHolder, waited: float):
        super().__init__(f"another activation run holds the ledger: {holder.describe()}; waited {waited:.0f} s "
                         "(its sends count for caps; run again once it has finished)")
        self.holder, self.waited = holder, waited


class LeaseLost(RuntimeError):
    """This run's lease expired and another run took it: this run must not claim anything more."""


@dataclass(frozen=True)
class LeaseHolder:
    run_id: str
    token: str
    host: str
    pid: int
    process_start: str | None
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        return (f"run {self.run_id} (pid {self.pid} on {self.host}) since "
                f"{self.acquired_at:%Y-%m-%d %H:%M:%S} UTC, lease until {self.expires_at:%H:%M:%S} UTC")


def _wallclock() -> datetime:
    return datetime.now(UTC)


def _text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux): a reused pid has another one."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]  # a zombie is dead; field 22 is starttime


def holder_is_dead(holder: LeaseHolder) -> bool:
    """Only provable on the holder's own host; elsewhere the lease's expiry decides."""
    if holder.host != socket.gethostname():
        return False
    if holder.pid == os.getpid():  # this process (another run in it), unless an earlier one had our pid
        return holder.process_start is not None and holder.process_start != process_start(os.getpid())
    if os.path.isdir("/proc"):
        started = process_start(holder.pid)
        return started is None or (holder.process_start is not None and started != holder.process_start)
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RunLease:
    """The lease for one run on one ledger (a ``Ledger``); see the module's docstring."""

    def __init__(self, ledger, run_id: str, ttl: timedelta = LEASE_TTL, clock=_wallclock):
        if ttl <= timedelta(0):
            raise ValueError(f"lease ttl must be positive, got {ttl}")
        self.ledger, self.run_id, self.ttl, self.clock = ledger, run_id, ttl, clock
        self.token = f"{run_id}:{uuid.uuid4().hex[:12]}"
        self.waited = 0.0
        self.waited_for: LeaseHolder | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # -- taking it

    def acquire(self, wait: timedelta = LEASE_WAIT) -> RunLease:
        """Take the lease, waiting up to ``wait`` for the holder to free it; ``LeaseBusy`` after that."""
        started = time.monotonic()
        while True:
            holder = self._try_take()
            if holder is None:
                break
            self.waited = time.monotonic() - started
            if self.waited_for is None or self.waited_for.token != holder.token:
                log.warning("activation %s waits for the ledger: %s", self.run_id, holder.describe())
                self.waited_for = holder
            if self.waited >= wait.total_seconds():
                raise LeaseBusy(holder, self.waited)
            time.sleep(min(POLL_SECONDS, max(wait.total_seconds() - self.waited, 0.01)))
        self.waited = time.monotonic() - started
        self.ledger.lease_token = self.token
        if self.ledger.conn.shared:  # another process can only share a file or a server
            self._heartbeat = threading.Thread(target=self._renew_until_stopped, name=f"lease-{self.run_id}",
                                               daemon=True)
            self._heartbeat.start()
        return self

    def _try_take(self) -> LeaseHolder | None:
        """None when taken; else the live holder."""
        now = self.clock()
        with self.ledger.transaction() as conn:
            row = conn.execute("SELECT * FROM leases WHERE name = ?", (LEASE_NAME,)).fetchone()
            if row is not None:
                holder = _holder(row)
                if holder.token != self.token:
                    if holder.expires_at > now and not holder_is_dead(holder):
                        return holder
                    why = "expired" if holder.expires_at <= now else "its process is gone"
                    log.warning("activation %s takes over the ledger lease of run %s (%s)", self.run_id,
                                holder.run_id, why)
            conn.execute(TAKE_LEASE,
                         (LEASE_NAME, self.run_id, self.token, socket.gethostname(), os.getpid(),
                          process_start(os.getpid()), _text(now), _text(now), _text(now + self.ttl)))
        return None

    # -- keeping it

    def _renew_until_stopped(self) -> None:
        try:
            conn = self.ledger.conn.reconnect()
        except (self.ledger.conn.Error, ConnectionError) as exc:
            log.error("activation %s could not renew the ledger lease: %s", self.run_id, type(exc).__name__)
            return
        try:
            while not self._stop.wait(self.ttl.total_seconds() / 4):
                now = self.clock()
                renewed = conn.execute("UPDATE leases SET renewed_at = ?, expires_at = ? WHERE name = ? AND token = ?",
                                       (_text(now), _text(now + self.ttl), LEASE_NAME, self.token)).rowcount
                if not renewed:
                    log.error("activation %s lost the ledger lease: another run took it", self.run_id)
                    return  # the next claim sees the token is gone and stops the run
        except conn.Error as exc:  # a locked or unreadable ledger: the claim's own check still guards
            log.error("activation %s could not renew the ledger lease: %s", self.run_id, type(exc).__name__)
        finally:
            conn.close()

    # -- giving it back

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        self.ledger.lease_token = None
        with self.ledger.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND token = ?", (LEASE_NAME, self.token))

    def __enter__(self) -> RunLease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def check_lease(conn, token: str) -> None:
    """Inside a claim's transaction: the lease is still ours (a fencing token), else ``LeaseLost``."""
    row = conn.execute("SELECT * FROM leases WHERE name = ?", (LEASE_NAME,)).fetchone()
    if row is None or row["token"] != token:
        taker = f"run {row['run_id']} holds it since {row['acquired_at']}" if row else "nobody holds it"
        raise LeaseLost(f"this activation run lost the ledger lease ({taker}): nothing more is claimed")


def current_holder(ledger) -> LeaseHolder | None:
    row = ledger.conn.execute("SELECT * FROM leases WHERE name = ?", (LEASE_NAME,)).fetchone()
    return _holder(row) if row else None


def _holder(row) -> LeaseHolder:
    return LeaseHolder(row["run_id"], row["token"], row["host"], int(row["pid"]), row["process_start"],
                       _parse(row["acquired_at"]), _parse(row["expires_at"]))


TAKE_LEASE = """INSERT INTO leases (name, run_id, token, host, pid, process_start, acquired_at, renewed_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, token = excluded.token,
                    host = excluded.host, pid = excluded.pid, process_start = excluded.process_start,
                    acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at,
                    expires_at = excluded.expires_at"""
LEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    token TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_start TEXT,
    acquired_at TEXT NOT NULL,
    renewed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""
