"""Tell people a run failed: a JSON summary POSTed to a webhook (Slack, Teams, any receiver).

The summary names the job, the run, the failed steps and the error message: never data
values, so nothing personal leaves the pipeline this way.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

WEBHOOK_ENV = "RETENTION_ALERT_WEBHOOK_URL"
TIMEOUT_SECONDS = 10
MESSAGE_LIMIT = 1000  # error messages can be long; the run page has the rest


@dataclass(frozen=True)
class RunFailure:
    job: str
    run_id: str
    failed_steps: list[str]
    error: str
    partition: str | None = None

    def payload(self) -> dict:
        summary = f"Run {self.run_id[:8]} of {self.job} failed"
        if self.failed_steps:
            summary += f" at {', '.join(self.failed_steps)}"
        return {"text": summary, **asdict(self), "error": self.error[:MESSAGE_LIMIT]}


def post_run_failure(failure: RunFailure, url: str) -> int:
    """POST the summary as JSON; returns the HTTP status. Raises ``urllib.error.URLError`` on failure."""
    request = urllib.request.Request(
        url,
        data=json.dumps(failure.payload()).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "retention-pipeline"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        return response.status
