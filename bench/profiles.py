"""Store sizes for the benchmark, with pinned dates so cached simulations stay valid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from retention.store_simulator import SIMULATOR_VERSION


@dataclass(frozen=True)
class Profile:
    name: str
    customers: int
    start: date
    last_day: date  # the history ends here; the full refresh is built as of this day
    seed: int = 42
    compress_inbox: bool = False  # gzip the simulated inbox: L's would not fit on an ordinary disk otherwise

    @property
    def next_day(self) -> date:
        """The one new day the incremental run adds on top of the history (simulated too)."""
        return self.last_day + timedelta(days=1)

    @property
    def cache_key(self) -> str:
        # the simulator's version too: a store simulated before the simulator gained a source is stale
        gz = "-gz" if self.compress_inbox else ""
        return f"c{self.customers}-{self.start}-{self.last_day}-s{self.seed}-v{SIMULATOR_VERSION}{gz}"

    def data_dir(self, bench_root: Path) -> Path:
        return Path(bench_root) / self.name / self.cache_key

    def spec(self) -> dict:
        return {"customers": self.customers, "start": self.start.isoformat(),
                "last_day": self.last_day.isoformat(), "next_day": self.next_day.isoformat(), "seed": self.seed,
                "compress_inbox": self.compress_inbox, "simulator_version": SIMULATOR_VERSION}


# Fixed end dates (not "yesterday"): the same profile always means the same store.
PROFILES: dict[str, Profile] = {
    "XS": Profile("XS", 800, date(2025, 8, 1), date(2025, 12, 31)),  # for the test: seconds, not minutes
    "S": Profile("S", 10_000, date(2025, 1, 1), date(2025, 12, 31)),
    "M": Profile("M", 100_000, date(2024, 1, 1), date(2025, 12, 31)),
    "L": Profile("L", 1_000_000, date(2024, 1, 1), date(2025, 12, 31), compress_inbox=True),
}
SCALE_PROFILES = ("S", "M", "L")
