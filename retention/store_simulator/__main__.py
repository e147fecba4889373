"""CLI: python -m retention.store_simulator --customers N --start DATE --end DATE --seed S --out DIR"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from .config import SimConfig, default_end, default_out_dir, months_before
from .core import ForeignInboxError, format_summary, simulate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m retention.store_simulator", description=__doc__)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--start", type=date.fromisoformat, default=None, help="first day (default: end minus 18 months)")
    ap.add_argument("--end", type=date.fromisoformat, default=None, help="last day, inclusive (default: yesterday, UTC)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=None, help="data directory root (default: $RETENTION_DATA_DIR or ./data)")
    ap.add_argument("--dirt-rate", type=float, default=0.002)
    ap.add_argument("--workers", type=int, default=2, help="processes (does not change the output)")
    ap.add_argument("--compress", action="store_true", help="gzip every inbox file (name + .gz)")
    ap.add_argument("--referral-rate", type=float, default=0.0,
                    help="share of buyers with an account who refer friends (truth: simulation/referrals.jsonl)")
    ap.add_argument("--subscription-rate", type=float, default=0.0,
                    help="mean back-in-stock / wish-list sign-ups per stock-out and price-drop sign-ups per sale "
                         "(truth: simulation/subscriptions.parquet)")
    a = ap.parse_args(argv)
    end = a.end or default_end()
    start = a.start or months_before(end, 18)
    cfg = SimConfig(customers=a.customers, start=start, end=end, seed=a.seed, dirt_rate=a.dirt_rate, workers=a.workers,
                    compress=a.compress, referral_rate=a.referral_rate,
                    subscription_rate=a.subscription_rate)
    try:
        s = simulate(cfg, a.out or default_out_dir())
    except (ForeignInboxError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_summary(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
