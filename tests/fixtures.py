"""Where the providers' real payloads are: `tests/data/providers` (their sources: SOURCES.md there)."""

from pathlib import Path

PROVIDER_FIXTURES = Path(__file__).resolve().parent / "data" / "providers"
