{#- Browse abandonment: a logged-in person viewed a product in the last browse_abandonment_window_hours
    and did not cart, check out or order since (segment browse_abandonment, which already leaves out
    anyone with an order since or a checkout in the window: they get the cart reminder instead).
    The product shown is the one they viewed last. Occurrence = the Monday of the view's week
    ('YYYY-MM-DD'): at most one browse reminder per person a week, however often they browse. -#}
with person_orders as (
    {{ audience_person_orders() }}
),

person_checkouts as (
    {{ audience_person_checkouts() }}
),

web as (
    select i.customer_key, w.event_type, w.product_id, w.occurred_at
    from {{ ref('stg_web__events') }} as w
    inner join {{ ref('int_identity') }} as i
        on i.identifier_type = 'shopify_customer_id'
        and i.identifier_value = cast(w.customer_id as {{ dbt.type_string() }})
    where w.product_id is not null and w.occurred_at < {{ as_of_end() }}
),

last_views as (
    select customer_key, product_id, occurred_at
    from (
        select
            w.customer_key,
            w.product_id,
            w.occurred_at,
            row_number() over (partition by w.customer_key order by w.occurred_at desc, w.product_id desc) as rn
        from web as w
        where w.event_type = 'product_view'
            and w.occurred_at >= {{ dbt.dateadd('hour', -1 * var('browse_abandonment_window_hours'), as_of_end()) }}
            and w.customer_key in (
                select t.customer_key from {{ ref('int_segment_triggers') }} as t
                where t.segment = 'browse_abandonment'
            )
    ) as x
    where rn = 1
),

entries as (
    select
        v.customer_key,
        {{ audience_date_text(dbt.date_trunc('week', 'v.occurred_at')) }} as occurrence,
        v.occurred_at as triggered_at,
        v.product_id,
        cast(null as {{ dbt.type_bigint() }}) as reference_id
    from last_views as v
),

entry_products as (
    {{ audience_trigger_products() }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    coalesce(exists (
        select 1 from person_orders as o
        where o.customer_key = e.customer_key and o.created_at >= e.triggered_at
    ), false) as exit_ordered_since_trigger,
    coalesce(exists (
        select 1 from web as w
        where w.customer_key = e.customer_key and w.event_type = 'add_to_cart' and w.occurred_at >= e.triggered_at
    ) or exists (
        select 1 from person_checkouts as k
        where k.customer_key = e.customer_key and k.created_at >= e.triggered_at and k.created_at < {{ as_of_end() }}
    ), false) as exit_carted_since_trigger,
    {{ audience_payload([
        ['product_id', audience_json_value('e.product_id')],
        ['viewed_at', audience_json_time('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
