{#- Abandoned cart: one row per abandoned checkout (occurrence = checkout id). Exit flags use the newest
    data as of as_of: an order since the checkout started, or a newer checkout. -#}
{{ audience(
    'abandoned_cart',
    entries=audience_checkout_entries(),
    products='checkout',
    exits=[
        ['ordered_since_trigger', 'exists (select 1 from person_orders o where o.customer_key = e.customer_key and o.created_at >= e.triggered_at)'],
        ['new_checkout', 'exists (select 1 from person_checkouts k where k.customer_key = e.customer_key and k.created_at > e.triggered_at and k.created_at < ' ~ as_of_end() ~ ')'],
    ],
    extra_payload=[
        ['checkout_id', audience_json_value('e.reference_id')],
        ['checkout_url', audience_json_value('(select k.abandoned_checkout_url from person_checkouts k where k.checkout_id = e.reference_id)')],
        ['cart_total', audience_json_value('(select k.total_price from person_checkouts k where k.checkout_id = e.reference_id)')],
        ['currency', audience_json_value('(select k.currency from person_checkouts k where k.checkout_id = e.reference_id)')],
    ],
) }}
