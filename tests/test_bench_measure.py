"""The harness's peak memory is the measured process's own, not the harness's: Linux starts a
child's kernel high-water mark at its parent's resident set."""

from __future__ import annotations

import sys
import threading

from bench.measure import measure

MB = 2**20


def _touch(size: int) -> bytearray:
    block = bytearray(size)
    for i in range(0, size, 4096):
        block[i] = 1
    return block


def test_a_small_child_of_a_large_harness_reports_its_own_peak():
    held = _touch(300 * MB)  # the harness holding data, as it does after a comparison's checks
    m = measure([sys.executable, "-c", "import time; time.sleep(0.3)"])
    assert len(held) == 300 * MB
    assert m.returncode == 0 and 0 < m.peak_rss_mb < 100


def test_a_harness_that_held_data_once_does_not_lend_its_peak():
    _touch(400 * MB)  # released again: the harness's resident set falls, its high-water mark stays
    m = measure([sys.executable, "-c", "import time; time.sleep(0.3)"])
    assert m.returncode == 0 and 0 < m.peak_rss_mb < 100


def test_a_harness_growing_while_it_spawns_does_not_lend_its_peak():
    # another thread of the harness allocating past its peak between the spawn and the exec: the
    # child's kernel mark starts there, above any mark the harness read before spawning
    growing, grown = threading.Event(), []

    def grow():
        growing.set()
        while len(grown) < 600:
            grown.append(_touch(MB))
    thread = threading.Thread(target=grow, daemon=True)
    thread.start()
    growing.wait()
    peaks = []
    while thread.is_alive():
        peaks.append(measure([sys.executable, "-c", "pass"]).peak_rss_mb)
    assert len(peaks) >= 3, "the harness stopped growing before three measurements"
    assert max(peaks) < 100, peaks


def test_a_child_that_allocates_reports_that_peak():
    # held for a second: below the harness's own peak only the sampler (every 50 ms) can see it
    m = measure([sys.executable, "-c",
                 f"import time\nblock = bytearray({200 * MB})\nfor i in range(0, len(block), 4096): block[i] = 1\n"
                 "time.sleep(1)"])
    assert m.returncode == 0 and m.peak_rss_mb >= 190
