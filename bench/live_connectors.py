"""Throughput figures for the live connectors on loopback (not a test: run it by hand).

    python -m bench.live_connectors webhooks --requests 6000 --threads 6
    python -m bench.live_connectors shopify --pages 400

``webhooks`` starts ``python -m retention.live.webhooks`` as its own process on 127.0.0.1 with a
fresh key, token and secret, sends signed SendGrid bodies (3 events each), Twilio status callbacks
and Shopify order webhooks (every tenth one a redelivery of the webhook id before it) from
keep-alive client threads, then checks every event and order landed exactly once (via
``retention.ingest.parse_files``) and prints requests/s and events/s. ``shopify`` serves prebuilt
pages with Link headers from a local server and prints the connector's pages/s.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from retention.live.webhooks import wait_until_healthy
from retention.paths import DataDir


def bench_webhooks(requests: int, threads: int, events_per_body: int) -> dict:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from twilio.request_validator import RequestValidator

    from retention.ingest import parse_files

    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    token = uuid.uuid4().hex
    root = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    port = 18787
    shop_secret = uuid.uuid4().hex
    env = {**os.environ, "SENDGRID_WEBHOOK_PUBLIC_KEY": public, "TWILIO_AUTH_TOKEN": token,
           "TWILIO_WEBHOOK_PUBLIC_URL": "https://hooks.example.com", "SHOPIFY_API_SECRET": shop_secret}
    proc = subprocess.Popen([sys.executable, "-m", "retention.live.webhooks", "--host", "127.0.0.1", "--port",
                             str(port), "--data-dir", str(root)], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until_healthy("127.0.0.1", port, timeout=10)
        validator = RequestValidator(token)
        plan, sent, orders = [], [], []
        for i in range(requests):
            if i % 4 == 2:
                # an order update; every tenth delivery is a redelivery of the one before (same webhook id)
                redelivery = i % 40 == 22 and orders
                order_id = orders[-1] if redelivery else 5_000_000 + i
                body = json.dumps({"id": order_id, "created_at": "2026-07-01T10:00:00Z",
                                   "updated_at": "2026-07-01T10:00:00Z", "email": f"o{i}@example.com",
                                   "currency": "USD", "total_price": "10.00", "line_items": []}).encode()
                digest = base64.b64encode(hmac.new(shop_secret.encode(), body, hashlib.sha256).digest()).decode()
                plan.append(("/shopify/webhooks", body, {"X-Shopify-Hmac-Sha256": digest,
                                                         "X-Shopify-Topic": "orders/updated",
                                                         "X-Shopify-Webhook-Id": f"wh-{order_id}"}))
                if not redelivery:
                    orders.append(order_id)
            elif i % 4 == 3:
                sid = "SM" + uuid.uuid4().hex
                fields = {"MessageSid": sid, "MessageStatus": "delivered", "SmsStatus": "delivered",
                          "AccountSid": "AC" + "a" * 32, "From": "+15017122661", "To": "+15558675310"}
                sig = validator.compute_signature("https://hooks.example.com/twilio/status", fields)
                plan.append(("/twilio/status", urlencode(fields).encode(), {"X-Twilio-Signature": sig}))
                sent.append(sid)
            else:
                ids = [uuid.uuid4().hex for _ in range(events_per_body)]
                body = json.dumps([{"email": f"u{j}@example.com", "event": "delivered", "timestamp": 1783000000,
                                    "sg_event_id": e} for j, e in enumerate(ids)]).encode()
                ts = str(int(time.time()))
                sig = base64.b64encode(key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
                plan.append(("/sendgrid/events", body, {"X-Twilio-Email-Event-Webhook-Signature": sig,
                                                        "X-Twilio-Email-Event-Webhook-Timestamp": ts}))
                sent.extend(ids)
        failures = []

        def worker(chunk):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for path, body, headers in chunk:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    failures.append(resp.status)
            conn.close()

        workers = [threading.Thread(target=worker, args=(plan[i::threads],)) for i in range(threads)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(30)
    sg = parse_files("sendgrid", sorted((root / "inbox" / "sendgrid").rglob("*.json")))
    tw = parse_files("twilio", sorted((root / "inbox" / "twilio").rglob("*.txt")))
    shop = parse_files("shopify", sorted((root / "inbox" / "shopify").rglob("*.json")),
                       inbox_root=root / "inbox" / "shopify")
    landed = (sg.tables["events"].column("sg_event_id").to_pylist()
              + tw.tables["message_status"].column("message_sid").to_pylist())
    shop_landed = shop.tables["orders"].column("id").to_pylist()
    return {"requests": requests, "threads": threads, "seconds": round(seconds, 2),
            "requests_per_s": round(requests / seconds), "events_per_s": round(len(sent) / seconds),
            "events_sent": len(sent), "landed_exactly_once": sorted(landed) == sorted(sent),
            "shopify_deliveries": sum(1 for p in plan if p[0] == "/shopify/webhooks"),
            "shopify_orders_landed_exactly_once": sorted(shop_landed) == sorted(orders),
            "non_2xx": len(failures), "data_dir": str(root)}


def bench_shopify(pages: int, per_page: int) -> dict:
    from retention.live.shopify_api import ShopifyConfig, pull_shopify

    records = [{"id": 10_000 + i, "email": f"c{i}@example.com", "created_at": "2026-06-01T10:00:00-04:00",
                "updated_at": f"2026-07-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}-04:00",
                "tags": "vip", "first_name": "A", "last_name": "B"} for i in range(pages * per_page)]
    bodies = [json.dumps({"customers": records[p * per_page:(p + 1) * per_page]}).encode() for p in range(pages)]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802
            q = parse_qs(urlsplit(self.path).query)
            page = int(q["page_info"][0]) if "page_info" in q else 0
            body = bodies[page]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Shopify-Shop-Api-Call-Limit", "1/40")
            if page + 1 < pages:
                self.send_header("Link", f"<http://127.0.0.1:{self.server.server_address[1]}"
                                         f"{urlsplit(self.path).path}?limit={per_page}&page_info={page + 1}>; "
                                         'rel="next"')
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    root = Path(tempfile.mkdtemp(prefix="shopify-bench-"))
    try:
        summary = pull_shopify(DataDir(root), date(2026, 7, 14), ShopifyConfig(
            access_token="bench", api_base=f"http://127.0.0.1:{httpd.server_address[1]}",
            resources=("customers",), limit=per_page))
    finally:
        httpd.shutdown()
    return {"pages": summary.pages, "records": summary.records, "seconds": round(summary.seconds, 2),
            "pages_per_s": round(summary.pages / summary.seconds, 1),
            "mb": round(sum(map(len, bodies)) / 1e6, 1), "data_dir": str(root)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_connectors")
    sub = parser.add_subparsers(dest="what", required=True)
    w = sub.add_parser("webhooks")
    w.add_argument("--requests", type=int, default=4000)
    w.add_argument("--threads", type=int, default=4)
    w.add_argument("--events-per-body", type=int, default=3)
    s = sub.add_parser("shopify")
    s.add_argument("--pages", type=int, default=200)
    s.add_argument("--per-page", type=int, default=250)
    args = parser.parse_args(argv)
    if args.what == "webhooks":
        result = bench_webhooks(args.requests, args.threads, args.events_per_body)
    else:
        result = bench_shopify(args.pages, args.per_page)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
