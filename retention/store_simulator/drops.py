"""A simulated day as a sequence of intraday drops, so the intraday path can be played hour by hour.

    split_day(data_dir, day)                  # inbox/<source>/<day>/ -> drops/<day>/<HH>/<source>/
    release_drops(data_dir, day, until)       # drops that closed by `until` -> inbox/<source>/<day>/h<HH>/

Drop HH holds the records whose time falls in [HH:00, HH:00 + hours) UTC and is released at the end
of that window, as webhooks and API pulls would have delivered them. Records dated before the day
(late arrivals) go to the first drop; records without a readable time, and files that cannot be
read, to the last. Splitting only moves and re-pages records (nothing is dropped or added), so a day
released in full lands the same records as the unsplit day. The simulator's own output is untouched:
this runs on an inbox it already wrote.
"""

from __future__ import annotations

import gzip
import re
import shutil
import zlib
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import orjson

from retention.paths import DataDir

# The field that says when a record happened, per JSONL source.
JSONL_TIME_FIELDS = ("occurred_at", "submitted_at", "created_at", "updated_at")
_SENDGRID_HOUR = re.compile(r"^events-(\d{2})0000-")
_TWILIO_STAMP = re.compile(r"(\d{8}T\d{6}Z)$")


def drops_root(data_dir: DataDir, day: date) -> Path:
    return data_dir.root / "drops" / day.isoformat()


def split_day(data_dir: DataDir, day: date, hours: int = 1) -> dict[int, int]:
    """Move ``day``'s inbox files of every source into drops of ``hours`` hours; files per drop."""
    if hours < 1 or 24 % hours:
        raise ValueError(f"hours must divide 24, not {hours}")
    written: dict[int, int] = defaultdict(int)
    for folder in sorted(p for p in data_dir.inbox.glob(f"*/{day.isoformat()}") if p.is_dir()):
        source = folder.parent.name
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name, data = _plain(path)
            for drop, piece in _pieces(source, Path(name), data, day, hours).items():
                target = drops_root(data_dir, day) / f"{drop:02d}" / source / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(piece)
                written[drop] += 1
            path.unlink()
        shutil.rmtree(folder)
    return dict(sorted(written.items()))


def release_drops(data_dir: DataDir, day: date, until: datetime, hours: int = 1) -> list[Path]:
    """Move every drop of ``day`` whose window closed by ``until`` into the inbox; the files moved."""
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    start = datetime.combine(day, time(), UTC)
    moved = []
    for drop_dir in sorted(p for p in drops_root(data_dir, day).glob("[0-9][0-9]") if p.is_dir()):
        if start + timedelta(hours=int(drop_dir.name) + hours) > until:
            continue
        for path in sorted(p for p in drop_dir.rglob("*") if p.is_file()):
            source = path.relative_to(drop_dir).parts[0]
            target = data_dir.inbox_day(source, day) / f"h{drop_dir.name}" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
            moved.append(target)
        shutil.rmtree(drop_dir)
    return moved


def add_to_drop(data_dir: DataDir, day: date, hour: int, source: str, name: str, data: bytes) -> Path:
    """Put one more file into a drop (a record a test wants at a chosen time)."""
    target = drops_root(data_dir, day) / f"{hour:02d}" / source / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


# ------------------------------------------------------------------ splitting one file


def _plain(path: Path) -> tuple[str, bytes]:
    """(name, content) with a gzip-compressed file unpacked; an unreadable archive stays as it is."""
    data = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            return path.stem, gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            pass
    return path.name, data


def _pieces(source: str, path: Path, data: bytes, day: date, hours: int) -> dict[int, bytes]:
    """The file's content per drop (one piece when the file's records share a drop)."""
    last = 24 - hours
    if source == "shopify" and path.suffix == ".json":
        return _split_page(data, day, hours, last)
    if source == "sendgrid" and (match := _SENDGRID_HOUR.match(path.name)):
        return {_bucket(int(match.group(1)), hours): data}  # SendGrid files are already one hour each
    if source == "twilio" and (match := _TWILIO_STAMP.search(path.stem)):
        moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return {_drop_of(moment, day, hours, last): data}
    if path.suffix == ".jsonl":
        return _split_lines(data, day, hours, last)
    return {last: data}


def _split_page(data: bytes, day: date, hours: int, last: int) -> dict[int, bytes]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {last: data}  # a truncated retry: unreadable, delivered with the last drop
    if not (isinstance(doc, dict) and len(doc) == 1 and isinstance(next(iter(doc.values())), list)):
        return {last: data}
    (resource, records), = doc.items()
    by_drop: dict[int, list] = defaultdict(list)
    for record in records:
        when = record.get("updated_at") or record.get("created_at") if isinstance(record, dict) else None
        by_drop[_drop_of(_parse(when), day, hours, last)].append(record)
    if len(by_drop) == 1:
        return {next(iter(by_drop)): data}
    return {drop: orjson.dumps({resource: page}) for drop, page in by_drop.items()}


def _split_lines(data: bytes, day: date, hours: int, last: int) -> dict[int, bytes]:
    by_drop: dict[int, list[bytes]] = defaultdict(list)
    for line in data.splitlines(keepends=True):
        when = None
        try:
            record = orjson.loads(line)
            if isinstance(record, dict):
                when = next((record[f] for f in JSONL_TIME_FIELDS if record.get(f)), None)
        except orjson.JSONDecodeError:
            pass
        by_drop[_drop_of(_parse(when), day, hours, last)].append(line if line.endswith(b"\n") else line + b"\n")
    return {drop: b"".join(lines) for drop, lines in by_drop.items()}


def _parse(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _drop_of(moment: datetime | None, day: date, hours: int, last: int) -> int:
    if moment is None:
        return last
    offset = moment - datetime.combine(day, time(), UTC)
    if offset < timedelta(0):
        return 0
    return min(_bucket(int(offset.total_seconds() // 3600), hours), last)


def _bucket(hour: int, hours: int) -> int:
    return min(hour, 23) // hours * hours
