"""Live-source connectors: they write what the providers send or return, unchanged, into
``inbox/<source>/<day>/`` so that ``retention.ingest`` serves them as it serves the simulator.

No Dagster import here. Modules:

- ``inbox_writer``  durable writes: atomic whole files (temp + fsync + rename + directory fsync),
  durable line appends with a lock per file and group-committed fsyncs, atomic JSON state.
- ``signatures``    SendGrid signed Event Webhook (ECDSA P-256/SHA-256) and Twilio
  ``X-Twilio-Signature`` (HMAC-SHA1, via ``twilio.request_validator.RequestValidator``).
- ``webhooks``      the HTTP receiver for both (``python -m retention.live.webhooks``).
- ``shopify_api``   the Admin REST connector (``pull_shopify``; ``python -m retention.live.shopify_graphql --api rest``).
- ``shopify_graphql`` the GraphQL Admin API connector: bulk-operation backfill, paginated incremental
  pulls, cost-based throttling (``pull_shopify_graphql``; ``python -m retention.live.shopify_graphql``).
- ``shopify_webhooks`` Shopify webhook verification (HMAC-SHA256 of the raw body, topic, dedupe key);
  pure, not wired into the receiver.
- ``suppressions``  the daily SendGrid suppression-list pull (``pull_suppressions``;
  ``python -m retention.live.suppressions``).

Secrets come from the environment only and are never logged; logs carry counts.
"""
