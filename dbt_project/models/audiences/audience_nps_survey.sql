{#- NPS survey: asks how likely the person is to recommend us, nps_survey_days_after_delivery days after
    an order was delivered (the delivery day may lie up to nps_survey_window_days - 1 days before that,
    for a missed run). Not more than once per person in nps_survey_min_days_between days: nobody who
    was sent the survey (SendGrid's events of campaign nps_survey, as int_consent reads the sunset
    message: the ledger's sends follow the audiences, so reading them here would be a cycle) or who
    answered any NPS survey in that time. One row per person, for their latest such delivery.
    Occurrence = that order's id. The answers land through the NPS inbox (survey_id in the payload). -#}
with ids as (
    select * from {{ ref('int_identity') }}
),

person_orders as (
    {{ audience_person_orders() }}
),

recently_asked as (
    select i.customer_key
    from {{ ref('stg_sendgrid__events') }} as ev
    inner join ids as i on i.identifier_type = 'email' and ev.email = i.identifier_value
    where ev.campaign = 'nps_survey' and ev.event_type in ('processed', 'delivered')
        and ev.occurred_at >= {{ dbt.dateadd('day', -1 * var('nps_survey_min_days_between'), as_of_end()) }}
    union all
    select coalesce(ic.customer_key, ie.customer_key) as customer_key
    from {{ ref('stg_nps__responses') }} as n
    left join ids as ic
        on ic.identifier_type = 'shopify_customer_id'
        and ic.identifier_value = cast(n.customer_id as {{ dbt.type_string() }})
    left join ids as ie on ie.identifier_type = 'email' and n.email = ie.identifier_value
    where n.submitted_at >= {{ dbt.dateadd('day', -1 * var('nps_survey_min_days_between'), as_of_end()) }}
),

deliveries as (
    select
        o.customer_key,
        o.order_id,
        o.delivered_at,
        row_number() over (partition by o.customer_key order by o.delivered_at desc, o.order_id desc) as rn
    from person_orders as o
    where {{ dbt.cast('o.delivered_at', 'date') }} <= {{ as_of_minus_days(var('nps_survey_days_after_delivery')) }}
        and {{ dbt.cast('o.delivered_at', 'date') }}
        > {{ as_of_minus_days(var('nps_survey_days_after_delivery') + var('nps_survey_window_days')) }}
        and o.customer_key not in (select a.customer_key from recently_asked as a where a.customer_key is not null)
),

entries as (
    select
        d.customer_key,
        {{ dbt.cast('d.order_id', dbt.type_string()) }} as occurrence,
        d.delivered_at as triggered_at,
        cast(null as {{ dbt.type_bigint() }}) as product_id,
        d.order_id as reference_id
    from deliveries as d
    where d.rn = 1
),

entry_products as (
    {{ audience_order_products('e.reference_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['survey_id', audience_json_value(dbt.string_literal(var('nps_survey_id')))],
        ['order_id', audience_json_value('e.reference_id')],
        ['order_name', audience_json_value('(select o.order_name from person_orders o where o.order_id = e.reference_id)')],
        ['delivered_at', audience_json_time('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
