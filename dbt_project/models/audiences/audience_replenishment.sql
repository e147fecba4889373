{#- Replenishment: a consumable product is due for re-purchase (segment replenishment_due).
    Occurrence = product id and due date: '<product_id>:<YYYY-MM-DD>'. -#}
with entries as (
    {{ audience_segment_entries('replenishment_due', dbt.concat([
        dbt.cast('t.product_id', dbt.type_string()), "':'", audience_date_text('t.triggered_at')
    ])) }}
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
        select 1 from {{ ref('order_lines') }} l
        where l.customer_key = e.customer_key and l.product_id = e.product_id
          and not l.is_cancelled and l.order_created_at >= e.triggered_at
    ), false) as exit_repurchased,
    {{ audience_payload([
        ['product_id', audience_json_value('e.product_id')],
        ['due_on', audience_json_value(audience_date_text('e.triggered_at'))],
    ]) }} as payload
{{ audience_from_entries() }}
