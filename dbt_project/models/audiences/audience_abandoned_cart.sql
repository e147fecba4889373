{#- Abandoned cart: one row per abandoned checkout (occurrence = checkout id). Exit flags use the newest
    data as of as_of: an order since the checkout started, or a newer checkout. -#}
with person_orders as (
    {{ audience_person_orders() }}
),

person_checkouts as (
    {{ audience_person_checkouts() }}
),

entries as (
    {{ audience_checkout_entries() }}
),

entry_products as (
    {{ audience_checkout_products() }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    coalesce(exists (
        select 1 from person_orders o
        where o.customer_key = e.customer_key and o.created_at >= e.triggered_at
    ), false) as exit_ordered_since_trigger,
    coalesce(exists (
        select 1 from person_checkouts k
        where k.customer_key = e.customer_key and k.created_at > e.triggered_at and k.created_at < {{ as_of_end() }}
    ), false) as exit_new_checkout,
    {{ audience_payload([
        ['checkout_id', audience_json_value('e.reference_id')],
        ['checkout_url', audience_json_value('(select k.abandoned_checkout_url from person_checkouts k where k.checkout_id = e.reference_id)')],
        ['cart_total', audience_json_value('(select k.total_price from person_checkouts k where k.checkout_id = e.reference_id)')],
        ['currency', audience_json_value('(select k.currency from person_checkouts k where k.checkout_id = e.reference_id)')],
    ]) }} as payload
{{ audience_from_entries() }}
