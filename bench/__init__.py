"""The benchmark harness: wall time and peak memory per pipeline stage, at S, M and L scale.

    python -m bench --profile S            # all stages, figures appended to bench/results/S.jsonl
    python -m bench --profile M --stages dbt_full_refresh dbt_incremental
    python -m bench --profile M --stages dbt_full_refresh --duckdb-memory-limit 4GB
    python -m bench --report                # S, M and L side by side
    python -m bench --write-results         # bench/RESULTS.md from the latest runs

Modules: ``profiles`` (store sizes and their pinned dates), ``measure`` (a child process's wall
time and the peak RSS of its process tree), ``stages`` (the work each child does), ``summary``
(the customer summary in warehouse SQL and in pandas), ``activation`` (the engine and the
official provider clients against local fake servers), ``runner`` (stages and comparisons in
order, JSON lines), ``machine`` (facts recorded with every figure), ``report`` and ``results_md``
(tables and RESULTS.md) and ``targets`` (the issue's targets and the profiles behind a miss).
Every stage runs in its own process so its memory is its own.
"""
