"""A push / webhook receiver over real HTTP on 127.0.0.1, checking requests as a store's app should.

    with FakeWebhookReceiver("secret", no_device={"c3"}) as receiver:
        WebhookSender(receiver.url, "secret", batch_size=2)
        receiver.script(Fail(429, {"Retry-After": "1"}), Hang(accept=True))  # the next two requests

Every POST is checked with ``retention.activation.webhook.verify_signature`` (the one definition a
receiver uses): a bad or stale signature is answered 401 with the reason, and counted in
``refused``. A signed batch is recorded (``batches``: the parsed body, its raw bytes and headers)
and answered 200; recipients whose customer is in ``no_device`` are listed as rejected in the
answer, per recipient, as the contract allows. ``script`` takes the providers' fakes' ``Fail``,
``Hang`` and ``Drop`` (tests/fakes/providers.py), one per request, in order.
"""

from __future__ import annotations

import json
import time

from retention.activation.webhook import DEFAULT_TOLERANCE, SIGNATURE_HEADER, SignatureError, verify_signature
from tests.fakes.providers import _FakeProvider, _json

NO_DEVICE = "no device registered for this customer"


class FakeWebhookReceiver(_FakeProvider):
    def __init__(self, secret: str, no_device: set[str] | frozenset[str] = frozenset(), latency: float = 0.0,
                 tolerance: float = DEFAULT_TOLERANCE):
        super().__init__(latency)
        self.secret, self.no_device, self.tolerance = secret, set(no_device), tolerance
        self.refused: list[str] = []  # why each refused request failed verification
        self._accepted: list[dict] = []

    @property
    def batches(self) -> list[dict]:
        """Accepted requests: {"body" (parsed), "raw" (bytes), "headers"}."""
        with self._lock:
            return list(self._accepted)

    def recipients(self) -> list[dict]:
        """Every recipient of every accepted batch, rejected ones included, in arrival order."""
        return [r for batch in self.batches for r in batch["body"]["recipients"]]

    def delivered(self) -> list[str]:
        """The customer keys notified: accepted recipients not rejected for want of a device."""
        return [r["customer_key"] for r in self.recipients() if r["customer_key"] not in self.no_device]

    def _error_body(self, status):
        return {"error": "slow down" if status == 429 else f"error {status}"}

    def _handle(self, method, path, headers, body):
        if method != "POST":
            return _json(405, {"error": "POST only"})
        try:
            verify_signature(self.secret, body, headers.get(SIGNATURE_HEADER), time.time(), self.tolerance)
        except SignatureError as error:
            with self._lock:
                self.refused.append(str(error))
            return _json(401, {"error": str(error)})
        doc = json.loads(body)

        def accept():
            with self._lock:
                self._accepted.append({"body": doc, "raw": body, "headers": dict(headers.items())})
            rejected = [{"send_id": r["send_id"], "reason": NO_DEVICE}
                        for r in doc["recipients"] if r["customer_key"] in self.no_device]
            return _json(200, {"rejected": rejected} if rejected else {})

        return self._send(accept)
