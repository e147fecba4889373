{#- Spells of segment membership: when each customer entered and left each segment. Built
    incrementally from the daily customer_segments. Re-running a day first undoes that day and any
    later one, so the result is idempotent; a backfill of an earlier day truncates the history after
    it. left_on is the first as_of on which the customer was no longer in the segment. Where the
    engine deletes and updates (DuckDB), the pre-hooks undo and the run merges what changed; on
    Spark the run rewrites the table from a copy with the same undo applied (macros/history.sql). -#}
{{ config(
    materialized='incremental',
    unique_key='spell_key',
    incremental_strategy=history_strategy(),
    pre_hook=[
        "{% if is_incremental() and not history_rewrites() %}delete from {{ this }} where entered_on >= {{ as_of_date() }}{% else %}select 1{% endif %}",
        "{% if is_incremental() and not history_rewrites() %}update {{ this }} set left_on = null where left_on >= {{ as_of_date() }}{% else %}select 1{% endif %}",
        "{{ history_drop_prior() }}",
        "{{ history_snapshot() }}"
    ],
    post_hook="{{ history_drop_prior() }}"
) }}
with today as (
    select customer_key, segment, segment_type from {{ ref('customer_segments') }}
),
{% if is_incremental() %}
{% if history_rewrites() %}
{#- the table before as_of: spells entered since removed, spells left since open again -#}
undone as (
    select
        spell_key, customer_key, segment, segment_type, entered_on,
        case when left_on < {{ as_of_date() }} then left_on end as left_on
    from {{ history_prior() }}
    where entered_on < {{ as_of_date() }}
),
open_spells as (
    select * from undone where left_on is null
),
{% else %}
open_spells as (
    select * from {{ this }} where left_on is null
),
{% endif %}
closing as (
    select s.spell_key, s.customer_key, s.segment, s.segment_type, s.entered_on, {{ as_of_date() }} as left_on
    from open_spells s
    where not exists (select 1 from today t where t.customer_key = s.customer_key and t.segment = s.segment)
),
{% endif %}
entering as (
    select
        {{ key_of("t.customer_key || '|' || t.segment || '|' || cast(" ~ as_of_date() ~ " as " ~ dbt.type_string() ~ ")") }} as spell_key,
        t.customer_key, t.segment, t.segment_type,
        {{ as_of_date() }} as entered_on,
        cast(null as date) as left_on
    from today t
    {% if is_incremental() %}
    where not exists (select 1 from open_spells s where s.customer_key = t.customer_key and s.segment = t.segment)
    {% endif %}
)
select * from entering
{% if is_incremental() %}
union all
select * from closing
{% if history_rewrites() %}
{#- a rewrite also keeps what does not change: closed spells, and open ones still in their segment -#}
union all
select * from undone where left_on is not null
union all
select * from open_spells s
where exists (select 1 from today t where t.customer_key = s.customer_key and t.segment = s.segment)
{% endif %}
{% endif %}
