{#- Every day's model fits, kept: parameter drift and fit quality over time. Re-running a day
    replaces that day's rows (macros/history.sql). Every column cast: the first day's types are the
    table's for good. -#}
{{ config(
    materialized='incremental',
    unique_key=['as_of', 'model'],
    incremental_strategy=history_strategy(),
    pre_hook=["{{ history_drop_prior() }}", "{{ history_snapshot() }}"],
    post_hook="{{ history_drop_prior() }}"
) }}
select
    {{ dbt.cast('as_of', 'date') }} as as_of,
    {{ dbt.cast('model', dbt.type_string()) }} as model,
    {{ dbt.cast('status', dbt.type_string()) }} as status,
    {{ dbt.cast('parameters', dbt.type_string()) }} as parameters,
    {{ dbt.cast('log_likelihood', 'double') }} as log_likelihood,
    {{ dbt.cast('customers', dbt.type_bigint()) }} as customers,
    {{ dbt.cast('seconds', 'double') }} as seconds,
    {{ dbt.cast('error', dbt.type_string()) }} as error
from {{ ref('clv_fits') }}
{% if is_incremental() and history_rewrites() %}
union all
select * from {{ history_prior() }} where as_of <> {{ as_of_date() }}
{% endif %}
