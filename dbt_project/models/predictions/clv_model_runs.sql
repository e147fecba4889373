{#- Every day's model fits, kept: parameter drift and fit quality over time. Re-running a day
    replaces that day's rows. -#}
{{ config(materialized='incremental', unique_key=['as_of', 'model'], incremental_strategy='delete+insert') }}
select {{ dbt.cast('as_of', 'date') }} as as_of, model, status, parameters, log_likelihood, customers, seconds, error
from {{ ref('clv_fits') }}
