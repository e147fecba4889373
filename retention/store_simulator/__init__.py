"""The built-in store simulator: a Shopify store with SendGrid email, Twilio SMS, web
analytics, reviews and NPS, driven by latent processes with known parameters.

    python -m retention.store_simulator --customers 5000 --seed 42 --out data
    from retention.store_simulator import SimConfig, simulate
    summary = simulate(SimConfig(customers=1000, seed=7), "data")   # -> dict

What it writes (``DIR`` is the data directory):

* ``DIR/inbox/<source>/<YYYY-MM-DD>/...`` in the formats of ``retention/README.md``. The
  folder day is the UTC day a record arrived; late records land 1-4 days later.
  Shopify pages ``<resource>-<NNNN>.json`` (customers, products, orders, checkouts, locations,
  inventory_levels);
  SendGrid bodies ``events-HH0000-NNNN.json`` (one hour, up to 1000 events);
  Twilio ``status-/inbound-YYYYMMDDTHH5959Z.txt``; ``web/events.jsonl``,
  ``reviews/reviews.jsonl``, ``nps/responses.jsonl``. With ``compress=True`` every file is
  gzip-compressed and named ``<name>.gz`` (ingestion reads both).
* ``DIR/simulation/``: ``params.json`` (true parameters, dates, counts),
  ``customers.parquet`` (one row per simulated person, with the latent lambda, p, nu,
  dropout time), ``orders.parquet``, ``checkouts.parquet``, ``products.parquet`` and
  ``inventory_levels.parquet`` (every level the store had: variant, product, inventory item,
  location, available, updated_at), ``web_sessions.parquet`` (every session: start, duration in
  seconds, events, pages, shares, social arrival; steps about a lognormal 45 s apart, 30% of browsing
  sessions bounce), ``reviews.parquet`` (rating and the sentiment planted in the text: mostly positive
  for 4-5 stars, negative for 1-2, neutral for 3, 8% without text) and ``dirt.parquet`` (every injected
  defect: source, table, day, file, kind, malformed, record_id, locator; an inventory level's record_id
  is ``<item>@<location>``).

The model:

* Buyers follow BG/NBD (time unit: weeks): lambda ~ Gamma(r, rate alpha), Poisson purchases
  while alive, dropout with probability p ~ Beta(a, b) after each repeat purchase; the clock
  starts at each buyer's first purchase (their arrival). Extra orders that are cancelled
  within hours are not part of the process (``orders.parquet`` ``modelled=False``).
* Spend per order follows Gamma-Gamma: nu ~ Gamma(q, rate gamma), spend ~ Gamma(p, rate nu).
  **The order field that carries it is ``subtotal_price``** (= ``total_line_items_price`` -
  ``total_discounts``): line items at that day's catalogue prices are added until the line
  total reaches the draw (grossed up for the order's discount code) and add-ons make up the
  last dollars, so ``subtotal_price`` is the draw to within 25 cents (x (1 - discount share)).
  Refunds lower ``current_subtotal_price`` / ``current_total_price``, not ``subtotal_price``.
* Dirt at ``dirt_rate`` per record: duplicates, late arrivals, reformatted emails / phones /
  timestamps (all land), and malformed records that break the README's landing rules
  (``malformed=True``). A whole invalid JSON file is always an *extra* truncated copy of a
  page or body that is also delivered intact, so no data is lost with it; it is recorded once
  with table ``_files``. Dirt tables: Shopify = resource (orders, customers, products,
  checkouts, inventory_levels); sendgrid ``events``; web ``events``;
  reviews ``reviews``; nps ``responses``; twilio ``message_status`` / ``inbound_messages``, or
  ``_files`` for a line that lost its ``Body`` or ``MessageStatus`` (it is then neither kind).

Deterministic: the same config gives byte-identical files, whatever the number of worker
processes (each delivery day is written from its own seeded stream).
"""

from .config import SimConfig
from .core import ForeignInboxError, format_summary, simulate

# Raised whenever the simulator writes something new (a source, a table, a field), so caches of
# simulated stores (the benchmark's) are not reused across versions.
SIMULATOR_VERSION = 4

__all__ = ["SimConfig", "simulate", "ForeignInboxError", "format_summary", "SIMULATOR_VERSION"]
