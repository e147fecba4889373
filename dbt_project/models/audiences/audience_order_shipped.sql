{#- Shipping notice: a fulfilment of the person's order was created (shipped) on one of the last
    order_notice_window_days days. Occurrence = the fulfilment id. Exit: already delivered (the
    delivery notice says more). -#}
with entries as (
    {{ audience_fulfilment_entries('created_at', var('order_notice_window_days')) }}
),

entry_products as (
    {{ audience_order_products('e.reference_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    e.delivered_at is not null as exit_delivered,
    {{ audience_payload(audience_fulfilment_fields() + [
        ['shipped_at', audience_json_time('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
