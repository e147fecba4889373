{#- Closing the loop: the send ledger written back to the landing zone (source activation.sends). -#}

{#- Glob of the landing Parquet files of the send ledger. -#}
{% macro activation_sends_glob() -%}
    {{- return(var('landing_root', env_var('RETENTION_DATA_DIR', '../data') ~ '/landing') ~ '/activation/sends/date=*/*.parquet') -}}
{%- endmacro %}

{#- True when at least one file matches the glob (checked when the model runs). Engines that
    cannot list files assume the source table exists. -#}
{% macro landing_files_exist(pattern) -%}{{ return(adapter.dispatch('landing_files_exist', 'retention')(pattern)) }}{%- endmacro %}
{% macro default__landing_files_exist(pattern) -%}{{ return(true) }}{%- endmacro %}
{% macro duckdb__landing_files_exist(pattern) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set res = run_query("select count(*) from glob(" ~ dbt.string_literal(pattern) ~ ")") -%}
    {{ return(res.columns[0].values()[0] > 0) }}
{%- endmacro %}

{#- The ledger columns as landed, typed; the empty relation stands in before the first send lands. -#}
{% macro activation_sends_columns() -%}
    {{ return([
        ['send_id', dbt.type_string()], ['campaign', dbt.type_string()], ['step', dbt.type_int()],
        ['customer_key', dbt.type_string()], ['occurrence', dbt.type_string()], ['channel', dbt.type_string()],
        ['status', dbt.type_string()], ['mode', dbt.type_string()], ['batch_id', dbt.type_string()],
        ['decided_at', dbt.type_timestamp()], ['sent_at', dbt.type_timestamp()], ['not_before', dbt.type_timestamp()],
        ['provider_message_id', dbt.type_string()], ['coupon_code', dbt.type_string()], ['error', dbt.type_string()],
        ['attempts', dbt.type_int()], ['audience_as_of', 'date'], ['run_id', dbt.type_string()], ['date', 'date'],
        ['variant', dbt.type_string()],
    ]) }}
{%- endmacro %}

{% macro activation_sends_empty() -%}
    select
    {%- for col in activation_sends_columns() %}
        cast(null as {{ col[1] }}) as {{ adapter.quote(col[0]) if col[0] == 'date' else col[0] }}{{ ',' if not loop.last }}
    {%- endfor %}
    where 1 = 0
{%- endmacro %}

{#- The landed ledger rows, or an empty typed relation when no file has landed yet. -#}
{% macro activation_sends_source() -%}
    {%- set src = source('activation', 'sends') -%}
    {%- if retention.landing_files_exist(activation_sends_glob()) -%}
    {{ activation_sends_with_empty(src) }}
    {%- else -%}
    {{ activation_sends_empty() }}
    {%- endif -%}
{%- endmacro %}

{#- by name with the empty relation: files landed before a column existed still give it, as null.
    On Spark the source is a table of those very columns already (macros/landing_sources.sql). -#}
{% macro activation_sends_with_empty(src) -%}{{ return(adapter.dispatch('activation_sends_with_empty', 'retention')(src)) }}{%- endmacro %}
{% macro default__activation_sends_with_empty(src) -%}
    select * from {{ src }}
    union all by name
    {{ activation_sends_empty() }}
{%- endmacro %}
{% macro spark__activation_sends_with_empty(src) -%}select * from {{ src }}{%- endmacro %}

{#- A landed timestamp (timestamp, timestamp with time zone or ISO-8601 text) as naive UTC. -#}
{% macro activation_ts(col) -%}{{ return(adapter.dispatch('activation_ts', 'retention')(col)) }}{%- endmacro %}
{% macro default__activation_ts(col) -%}cast({{ col }} as {{ dbt.type_timestamp() }}){%- endmacro %}
{% macro duckdb__activation_ts(col) -%}timezone('UTC', cast({{ col }} as timestamp with time zone)){%- endmacro %}

{#- Attribution window (days) of a channel. -#}
{% macro attribution_window_days(channel) -%}
    case when {{ channel }} = 'sms' then {{ var('attribution_window_days_sms', 1) }} else {{ var('attribution_window_days_email', 5) }} end
{%- endmacro %}
