{#- NPS detractor alert (internal: goes to staff, who follow up): latest NPS answer was a detractor
    (0-6) in the last nps_followup_days days (segment nps_detractor_followup). Occurrence = the date of
    that answer (YYYY-MM-DD). The payload carries what staff need: score, comment, the customer's
    contact and value. -#}
with ids as (
    select * from {{ ref('int_identity') }}
),

latest_answer as (
    select customer_key, comment, order_id from (
        select coalesce(ic.customer_key, ie.customer_key) as customer_key, n.comment, n.order_id,
               row_number() over (partition by coalesce(ic.customer_key, ie.customer_key) order by n.submitted_at desc, n.response_id) as rn
        from {{ ref('stg_nps__responses') }} n
        left join ids ic on ic.identifier_type = 'shopify_customer_id' and ic.identifier_value = cast(n.customer_id as {{ dbt.type_string() }})
        left join ids ie on ie.identifier_type = 'email' and ie.identifier_value = n.email
    ) x where rn = 1 and customer_key is not null
),

entries as (
    {{ audience_segment_entries('nps_detractor_followup', audience_date_text('t.triggered_at')) }}
),

entry_products as (
    {{ audience_order_products('r.last_order_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['nps_score', audience_json_value('c.latest_nps_score')],
        ['comment', audience_json_value('(select a.comment from latest_answer a where a.customer_key = e.customer_key)')],
        ['survey_order_id', audience_json_value('(select a.order_id from latest_answer a where a.customer_key = e.customer_key)')],
        ['answered_at', audience_json_time('e.triggered_at')],
        ['customer_email', audience_json_value('c.email')],
        ['customer_phone', audience_json_value('c.phone')],
        ['order_count', audience_json_value('c.order_count')],
        ['net_revenue', audience_json_value('c.net_revenue')],
    ]) }} as payload
{{ audience_from_entries() }}
