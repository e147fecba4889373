"""Data quality: Great Expectations suites for the landing zone and for the frames activation reads.

``suites`` says what is expected of each table; ``validate`` runs a suite on one landing
partition or on any DataFrame and reports failures with hashed examples; ``alerts`` posts a
run-failure summary to a webhook. No Dagster here: ``assets/quality.py`` wraps these.
GX is imported only when something is validated (it is slow to import), so the names below
load on first use.
"""

_EXPORTS = ("FailedExpectation", "QualityResult", "validate_frame", "validate_partition")


def __getattr__(name: str):
    if name in _EXPORTS:
        from retention.quality import validate

        return getattr(validate, name)
    raise AttributeError(name)


__all__ = list(_EXPORTS)
