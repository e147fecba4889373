"""Privacy requests as a Dagster job: ``privacy_requests`` erases or exports one person (config as
``python -m retention.privacy``), or with no one named acts on the landed Shopify requests. The work
is ``retention.privacy``; what the run records is request ids, hashes and counts, and the run's own
config, which names the person, is scrubbed from Dagster's storage with everything else."""

from pathlib import Path

import dagster as dg

from assets.resources import DataDirResource
from retention.privacy import Subject, act_on_landed, erase, export


class PrivacyRequestConfig(dg.Config):
    action: str = "requests"  # "erase", "export", or "requests" (the landed Shopify webhooks)
    email: str | None = None
    phone: str | None = None
    shopify_customer_id: int | None = None


@dg.op(pool="warehouse", description="Erase or export one person, or act on the landed Shopify privacy requests.")
def privacy__act(context: dg.OpExecutionContext, config: PrivacyRequestConfig, data_dir: DataDirResource) -> None:
    layout = data_dir.layout
    dagster_storage = [Path(context.instance.root_directory)] if context.instance.root_directory else []
    if config.action == "requests":
        reports = act_on_landed(layout, dagster_storage, keep_run=context.run_id)
    elif config.action in ("erase", "export"):
        try:
            subject = Subject(config.email, config.phone, config.shopify_customer_id)
        except ValueError as exc:
            raise dg.Failure(f"privacy request refused: {exc}") from None
        reports = [erase(layout, subject, also=dagster_storage) if config.action == "erase"
                   else export(layout, subject)]
    else:
        raise dg.Failure(f"unknown action {config.action!r}: erase, export or requests")
    for report in reports:
        context.log.info(f"{report.action} {report.request_id}: {sum(report.counts.values())} records "
                         f"in {len(report.counts)} stores, {report.seconds:.1f} s")
        context.log_event(dg.AssetObservation(
            asset_key=dg.AssetKey(["privacy", "requests"]),
            metadata={"request_id": report.request_id, "action": report.action,
                      "records": sum(report.counts.values()), "counts": dg.MetadataValue.json(report.counts),
                      "hashes": len(report.hashes)}))


@dg.job(description="GDPR/CCPA erasure and data access (retention.privacy).")
def privacy_requests():
    privacy__act()
