"""Privacy requests as a Dagster job: ``privacy_requests`` erases or exports one person (config as
``python -m retention.privacy``), or with no one named acts on the landed Shopify requests. The work
is ``retention.privacy``; what the run records is request ids, hashes and counts, and the run's own
config, which names the person, is scrubbed from Dagster's storage with everything else."""

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import dagster as dg

from assets.resources import DataDirResource
from retention.privacy import Subject, act_on_landed, erase, export


class PrivacyRequestConfig(dg.Config):
    action: str = "requests"  # "erase", "export", or "requests" (the landed Shopify webhooks)
    email: str | None = None
    phone: str | None = None
    shopify_customer_id: int | None = None


def forget_other_runs(instance: dg.DagsterInstance, keep_run: str) -> int:
    """shop/redact in Dagster's storage: one deployment serves one shop, so the shop's history is every
    run but the one acting on the request (its config names nobody, its events carry counts). The runs
    go with their events and compute logs; the SQLite files are vacuumed so no free page keeps them."""
    run_ids = [run.run_id for run in instance.get_runs() if run.run_id != keep_run]
    for run_id in run_ids:
        instance.delete_run(run_id)
    home = Path(instance.root_directory) if instance.root_directory else None
    if home is not None:
        for run_id in run_ids:
            shutil.rmtree(home / "storage" / run_id, ignore_errors=True)  # compute logs
            (home / "history" / "runs" / f"{run_id}.db").unlink(missing_ok=True)  # a run's own event log
        for log in (home / "logs").glob("*"):
            if log.is_file():
                log.write_bytes(b"")
        for path in home.rglob("*.db"):
            if path.is_file() and path.stem != keep_run:
                with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as con:
                    con.execute("VACUUM")
    return len(run_ids)


@dg.op(pool="warehouse", description="Erase or export one person, or act on the landed Shopify privacy requests.")
def privacy__act(context: dg.OpExecutionContext, config: PrivacyRequestConfig, data_dir: DataDirResource) -> None:
    layout = data_dir.layout
    dagster_storage = [Path(context.instance.root_directory)] if context.instance.root_directory else []
    if config.action == "requests":
        reports = act_on_landed(layout, dagster_storage,
                                forget_runs=lambda: forget_other_runs(context.instance, context.run_id))
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
