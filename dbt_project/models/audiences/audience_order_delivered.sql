{#- Delivery notice: the carrier marked a fulfilment of the person's order delivered on one of the last
    order_notice_window_days days. Occurrence = the fulfilment id. -#}
with entries as (
    {{ audience_fulfilment_entries('delivered_at', var('order_notice_window_days')) }}
),

entry_products as (
    {{ audience_order_products('e.reference_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload(audience_fulfilment_fields() + [
        ['delivered_at', audience_json_time('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
