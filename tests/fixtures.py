"""Where the providers' real payloads are: `shared/fixtures/providers` beside the project root."""

import os
from pathlib import Path

PROVIDER_FIXTURES = Path(
    os.environ.get("RETENTION_PROVIDER_FIXTURES")
    or Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "providers"
)

if not (PROVIDER_FIXTURES / "SOURCES.md").is_file():
    raise RuntimeError(
        f"provider fixtures not found at {PROVIDER_FIXTURES}: clone the project beside shared/ "
        "or set RETENTION_PROVIDER_FIXTURES"
    )
