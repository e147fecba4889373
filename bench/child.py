"""Child-process entry: ``python -m bench.child STAGE CONTEXT_JSON RESULT_JSON``.

Runs one stage and writes its details (or its error) to RESULT_JSON; the parent measures this
process and everything it starts.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    stage, context_path, result_path = argv
    from bench.stages import STAGES

    ctx = json.loads(Path(context_path).read_text())
    try:
        result = {"ok": True, "details": STAGES[stage](ctx)}
    except Exception as exc:  # reported in the JSON line, with the traceback in the stage log
        traceback.print_exc()
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    Path(result_path).write_text(json.dumps(result, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
