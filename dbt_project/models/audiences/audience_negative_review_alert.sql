{#- Negative review alert (internal: goes to staff, who answer the customer): a review of
    negative_review_max_rating stars or fewer written on one of the last negative_review_window_days UTC
    days, by a known person (Shopify customer id, else email). Occurrence = the review id. The payload
    carries the review as written (the store's own content, for its staff; logs carry counts only) and
    what staff need to reach and weigh the customer. -#}
with ids as (
    select * from {{ ref('int_identity') }}
),

entries as (
    select
        coalesce(ic.customer_key, ie.customer_key) as customer_key,
        rv.review_id as occurrence,
        rv.created_at as triggered_at,
        rv.product_id,
        rv.order_id as reference_id,
        rv.rating,
        rv.title,
        rv.body,
        rv.verified_buyer
    from {{ ref('stg_reviews__reviews') }} as rv
    left join ids as ic
        on ic.identifier_type = 'shopify_customer_id'
        and ic.identifier_value = cast(rv.customer_id as {{ dbt.type_string() }})
    left join ids as ie on ie.identifier_type = 'email' and ie.identifier_value = rv.email
    where rv.rating <= {{ var('negative_review_max_rating') }}
        and rv.created_at < {{ as_of_end() }}
        and {{ dbt.cast('rv.created_at', 'date') }} > {{ as_of_minus_days(var('negative_review_window_days')) }}
        and coalesce(ic.customer_key, ie.customer_key) is not null
),

entry_products as (
    {{ audience_trigger_products() }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['review_id', audience_json_value('e.occurrence')],
        ['rating', audience_json_value('e.rating')],
        ['review_title', audience_json_value('e.title')],
        ['review_body', audience_json_value('e.body')],
        ['verified_buyer', audience_json_value('e.verified_buyer')],
        ['order_id', audience_json_value('e.reference_id')],
        ['reviewed_at', audience_json_time('e.triggered_at')],
        ['customer_email', audience_json_value('c.email')],
        ['customer_phone', audience_json_value('c.phone')],
        ['order_count', audience_json_value('c.order_count')],
        ['net_revenue', audience_json_value('c.net_revenue')],
    ]) }} as payload
{{ audience_from_entries() }}
