{#- One row per customer and segment as of as_of, with what a message needs. segment_type:
    rfm | lifecycle | loyalty_tier | trigger. -#}
with c as (select * from {{ ref('customers') }}),
memberships as (
    select customer_key, 'rfm' as segment_type, 'rfm_' || lower(replace(replace(replace(rfm_segment, ' ', '_'), '''', ''), '-', '_')) as segment,
           cast(null as {{ dbt.type_timestamp() }}) as triggered_at, cast(null as {{ dbt.type_bigint() }}) as product_id,
           cast(null as {{ dbt.type_bigint() }}) as reference_id
    from c where rfm_segment is not null
    union all
    select customer_key, 'lifecycle', 'lifecycle_' || lifecycle_stage, null, null, null from c
    union all
    select customer_key, 'loyalty_tier', 'tier_' || loyalty_tier, cast(loyalty_tier_reached_on as {{ dbt.type_timestamp() }}), null, null
    from c where loyalty_tier <> 'none'
    union all
    select customer_key, 'trigger', segment, triggered_at, product_id, reference_id from {{ ref('int_segment_triggers') }}
)
select
    {{ key_of("m.customer_key || '|' || m.segment") }} as customer_segment_key,
    m.customer_key,
    m.segment_type,
    m.segment,
    m.triggered_at,
    m.product_id,
    m.reference_id,
    c.email,
    c.phone,
    c.first_name,
    c.is_email_marketable,
    c.is_sms_marketable,
    c.email_suppression_reason,
    c.sms_suppression_reason,
    c.lifecycle_stage,
    c.rfm_segment,
    c.loyalty_tier,
    c.order_count,
    c.net_revenue,
    c.last_order_date,
    {{ as_of_date() }} as as_of
from memberships m
inner join c on c.customer_key = m.customer_key
