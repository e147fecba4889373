{#- Review request: an order delivered 7-13 days ago and not reviewed (segment review_request).
    Occurrence = the order id. -#}
with person_orders as (
    {{ audience_person_orders() }}
),

entries as (
    {{ audience_segment_entries('review_request', dbt.cast('t.reference_id', dbt.type_string())) }}
),

entry_products as (
    {{ audience_order_products('e.reference_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    coalesce(exists (
        select 1 from {{ ref('stg_reviews__reviews') }} rv where rv.order_id = e.reference_id
    ), false) as exit_reviewed,
    {{ audience_payload([
        ['order_id', audience_json_value('e.reference_id')],
        ['order_name', audience_json_value('(select o.order_name from person_orders o where o.order_id = e.reference_id)')],
        ['delivered_at', audience_json_time('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
