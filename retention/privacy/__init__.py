"""GDPR/CCPA requests: erase a person from every store, or export everything held about them.

    erase(data_dir, Subject(email="a@example.com"))   # -> ErasureReport (counts, hashes)
    export(data_dir, Subject(email="a@example.com"))  # -> exports/access-<id>.json
    act_on_landed(data_dir)                           # the Shopify webhooks in shopify/privacy_requests

``python -m retention.privacy erase|export|requests`` runs them from the command line.
"""

from retention.privacy.access import export, export_path
from retention.privacy.erasure import ErasureReport, act, act_on_landed, erase, erase_shop
from retention.privacy.identity import Subject
from retention.privacy.tombstones import Tombstones

__all__ = ["ErasureReport", "Subject", "Tombstones", "act", "act_on_landed", "erase", "erase_shop", "export",
           "export_path"]
