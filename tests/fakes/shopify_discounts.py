"""A local stand-in for the Shopify Admin GraphQL API's discount operations, over real HTTP on
127.0.0.1: the shapes of the documented requests and answers, a shop's rule that a code exists
once, and counters of what was created.

    with FakeShopifyDiscounts() as shop:
        ShopifyDiscounts(None, shop.access_token, "2026-07", api_base=shop.url)
        shop.reject_codes["BACK-XXXX"] = "Code is invalid"     # a per-code error in the bulk result
        shop.reject_discount = "Title can't be blank"          # userErrors of discountCodeBasicCreate
        shop.script(503, 503)                                  # the next two requests answer 503

Operations (``POST /admin/api/<version>/graphql.json``, ``X-Shopify-Access-Token``), as documented:
- ``discountCodeBasicCreate(basicCodeDiscount:)`` -> ``{codeDiscountNode {id}, userErrors}``
  https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountCodeBasicCreate
- ``discountRedeemCodeBulkAdd(discountId:, codes: [{code}])`` -> ``{bulkCreation {id}, userErrors}``,
  at most 250 codes a call (2025-10 reference; the 2024-01 one says 100; more -> userErrors)
  https://shopify.dev/docs/api/admin-graphql/latest/mutations/discountRedeemCodeBulkAdd
  https://shopify.dev/docs/api/admin-graphql/2025-10/payloads/DiscountRedeemCodeBulkAddPayload
  https://shopify.dev/docs/api/admin-graphql/2024-01/mutations/discountRedeemCodeBulkAdd
- ``discountRedeemCodeBulkCreation(id:)`` -> ``{id done codesCount importedCount failedCount
  codes {nodes {code errors {code field message} discountRedeemCode {id}}}}``; ``done`` turns true
  after ``polls_until_done`` polls (the codes themselves are created when the mutation arrives)
  https://shopify.dev/docs/api/admin-graphql/latest/queries/discountRedeemCodeBulkCreation
- ``codeDiscountNodeByCode(code:)`` -> ``{id}`` or null (case-insensitive)
  https://shopify.dev/docs/api/admin-graphql/latest/queries/codeDiscountNodeByCode
Every answer carries ``extensions.cost.throttleStatus``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_PATH = re.compile(r"^/admin/api/(?P<version>[^/]+)/graphql\.json$")
_OPERATIONS = ("discountCodeBasicCreate", "discountRedeemCodeBulkAdd", "discountRedeemCodeBulkCreation",
               "codeDiscountNodeByCode")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeShopifyDiscounts

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = self.fake._handle(self.path, self.headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class FakeShopifyDiscounts:
    def __init__(self, access_token: str = "shpat_test_token", polls_until_done: int = 1,
                 max_codes: int | None = None, latency: float = 0.0):
        self.access_token = access_token
        self.latency = latency  # seconds added to every answer (a network round trip)
        self.polls_until_done = polls_until_done
        self.max_codes = max_codes  # None: 250 from API version 2025-10, 100 before
        self.reject_discount: str | None = None
        self.reject_codes: dict[str, str] = {}
        self.discounts: dict[str, dict] = {}  # id -> the basicCodeDiscount input + "codes"
        self.codes: dict[str, str] = {}  # upper-cased code -> discount id
        self.bulks: dict[str, dict] = {}
        self.operations: Counter = Counter()  # requests per operation
        self.discount_creations = 0
        self.code_creations = 0
        self.duplicate_code_requests = 0  # codes sent again that the shop already had
        self.port = 0
        self._script: deque = deque()
        self._lock = threading.Lock()
        self._httpd: _Server | None = None

    def __enter__(self):
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True,
                         name="FakeShopifyDiscounts").start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *statuses: int) -> None:
        """The next requests answer these HTTP statuses (429 with Retry-After: 0), one each."""
        with self._lock:
            self._script.extend(statuses)

    def codes_of(self, discount_id: str) -> set[str]:
        with self._lock:
            return set(self.discounts[discount_id]["codes"])

    def has(self, code: str) -> bool:
        with self._lock:
            return code.upper() in self.codes

    # -- requests

    def _handle(self, path, headers, body):
        if self.latency:
            time.sleep(self.latency)
        match = _PATH.match(urlsplit(path).path)
        if headers.get("X-Shopify-Access-Token") != self.access_token:
            return 401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        if not match:
            return 404, {"errors": "Not Found"}
        with self._lock:
            if self._script:
                status = self._script.popleft()
                return status, {"errors": "Throttled" if status == 429 else "Internal error"}
        try:
            doc = json.loads(body)
            query, variables = doc["query"], doc.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return 400, {"errors": "Bad Request"}
        operation = next((name for name in _OPERATIONS if re.search(rf"\b{name}\s*\(", query.split("{", 1)[1])), None)
        if operation is None:
            return 200, {"errors": [{"message": "unknown operation", "extensions": {"code": "undefinedField"}}]}
        limit = self.max_codes or (250 if match["version"] >= "2025-10" or match["version"] == "unstable" else 100)
        with self._lock:
            self.operations[operation] += 1
            data = getattr(self, "_" + operation)(variables, limit)
        return 200, {"data": {operation: data}, "extensions": {"cost": {
            "requestedQueryCost": 10, "actualQueryCost": 10,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0}}}}

    def _discountCodeBasicCreate(self, variables, limit):
        spec = variables.get("basicCodeDiscount") or {}
        errors = []
        if self.reject_discount:
            errors.append({"code": "INVALID", "field": ["basicCodeDiscount", "title"], "message": self.reject_discount})
        if not spec.get("title"):
            errors.append({"code": "BLANK", "field": ["basicCodeDiscount", "title"], "message": "Title can't be blank"})
        code = str(spec.get("code") or "")
        if not code:
            errors.append({"code": "BLANK", "field": ["basicCodeDiscount", "code"], "message": "Code can't be blank"})
        elif code.upper() in self.codes:
            errors.append({"code": "TAKEN", "field": ["basicCodeDiscount", "code"],
                           "message": "Code must be unique. Please try a different code."})
        percentage = ((spec.get("customerGets") or {}).get("value") or {}).get("percentage")
        if not isinstance(percentage, (int, float)) or not 0 < percentage <= 1:
            errors.append({"code": "VALUE_OUTSIDE_RANGE", "field": ["basicCodeDiscount", "customerGets", "value"],
                           "message": "Percentage must be between 0 and 1"})
        if errors:
            return {"codeDiscountNode": None, "userErrors": errors}
        discount_id = f"gid://shopify/DiscountCodeNode/{1000 + len(self.discounts)}"
        self.discounts[discount_id] = {**spec, "codes": {code}}
        self.codes[code.upper()] = discount_id
        self.discount_creations += 1
        return {"codeDiscountNode": {"id": discount_id}, "userErrors": []}

    def _discountRedeemCodeBulkAdd(self, variables, limit):
        discount_id, codes = variables.get("discountId"), variables.get("codes") or []
        if discount_id not in self.discounts:
            return {"bulkCreation": None, "userErrors": [{"code": "INVALID", "field": ["discountId"],
                                                          "message": "Discount does not exist"}]}
        if len(codes) > limit:
            return {"bulkCreation": None, "userErrors": [{"code": "TOO_MANY_ARGUMENTS", "field": ["codes"],
                                                          "message": f"Codes must have at most {limit} items"}]}
        results = []
        for entry in codes:
            code = str((entry or {}).get("code") or "")
            errors = []
            if code in self.reject_codes:
                errors.append({"code": "INVALID", "field": ["code"], "message": self.reject_codes[code]})
            elif not code:
                errors.append({"code": "BLANK", "field": ["code"], "message": "Code can't be blank"})
            elif code.upper() in self.codes:
                self.duplicate_code_requests += 1
                errors.append({"code": "TAKEN", "field": ["code"], "message": "Code must be unique"})
            if not errors:
                self.codes[code.upper()] = discount_id
                self.discounts[discount_id]["codes"].add(code)
                self.code_creations += 1
            results.append({"code": code, "errors": errors,
                            "discountRedeemCode": None if errors else {"id": f"gid://shopify/DiscountRedeemCode/"
                                                                             f"{self.code_creations}"}})
        bulk_id = f"gid://shopify/DiscountRedeemCodeBulkCreation/{len(self.bulks) + 1}"
        self.bulks[bulk_id] = {"results": results, "polls": 0, "discount_id": discount_id}
        return {"bulkCreation": {"id": bulk_id}, "userErrors": []}

    def _discountRedeemCodeBulkCreation(self, variables, limit):
        bulk = self.bulks.get(variables.get("id"))
        if bulk is None:
            return None
        bulk["polls"] += 1
        done = bulk["polls"] >= self.polls_until_done
        results = bulk["results"]
        failed = sum(1 for r in results if r["errors"])
        first = int(variables.get("first") or 250)
        return {"id": variables["id"], "done": done, "codesCount": len(results),
                "importedCount": len(results) - failed if done else 0, "failedCount": failed if done else 0,
                "codes": {"nodes": results[:first] if done else []}}

    def _codeDiscountNodeByCode(self, variables, limit):
        discount_id = self.codes.get(str(variables.get("code") or "").upper())
        return {"id": discount_id} if discount_id else None
