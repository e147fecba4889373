"""Each segment as a CSV for tools outside the pipeline, marking who may be emailed or texted.

Everyone in the segment is exported, so counts match the report; email_consent_ok / sms_consent_ok
say whether that channel may be used (consent given, not suppressed, an address exists). Files are
replaced atomically: a tool reading one never sees half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from retention.reports.segments import DEFINITIONS

COLUMNS = [
    "customer_key", "email", "phone", "first_name", "email_consent_ok", "sms_consent_ok",
    "email_suppression_reason", "sms_suppression_reason", "segment", "segment_type", "lifecycle_stage",
    "rfm_segment", "recency_score", "frequency_score", "monetary_score", "loyalty_tier", "order_count",
    "net_revenue", "last_order_date", "predicted_clv_12m", "churn_risk", "p_alive", "triggered_at",
    "product_id", "reference_id", "as_of",
]


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write beside the target, then rename over it (atomic on one filesystem)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_frame(members: pd.DataFrame) -> pd.DataFrame:
    """One segment's members in export columns; consent flags are strict booleans (unknown = no)."""
    frame = members.rename(columns={"is_email_marketable": "email_consent_ok", "is_sms_marketable": "sms_consent_ok"})
    for flag in ("email_consent_ok", "sms_consent_ok"):
        frame[flag] = frame[flag].fillna(False).astype(bool) if flag in frame else False
    return frame.reindex(columns=COLUMNS)


def write_exports(members: pd.DataFrame, directory: Path) -> dict[str, Path]:
    """Writes <segment>.csv for every segment (an empty file with a header when it has no members)."""
    segments = set(DEFINITIONS) | (set(members["segment"]) if not members.empty else set())
    written = {}
    for segment in sorted(segments):
        rows = members[members["segment"] == segment] if not members.empty else pd.DataFrame(columns=COLUMNS)
        path = directory / f"{re.sub(r'[^A-Za-z0-9_-]', '_', segment)}.csv"  # codes are data: keep paths tame
        # personal data: readable by the owner and its group, not by everyone on the machine
        write_atomically(path, export_frame(rows).to_csv(index=False).encode("utf-8"), mode=0o640)
        written[segment] = path
    return written
