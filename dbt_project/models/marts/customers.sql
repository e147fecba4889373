{#- One row per person (customer_key) as of as_of. -#}
with ids as (select * from {{ ref('int_identity') }}),
keys as (select distinct customer_key from ids),
profile as (
    -- contact fields from the person's most recently updated Shopify customer record
    select * from (
        select i.customer_key, c.*,
            row_number() over (partition by i.customer_key order by c.updated_at desc, c.customer_id) as rn
        from {{ ref('stg_shopify__customers') }} c
        inner join ids i on i.identifier_type = 'shopify_customer_id' and i.identifier_value = cast(c.customer_id as {{ dbt.type_string() }})
    ) x where rn = 1
),
fallback_contact as (
    select customer_key,
        min(case when identifier_type = 'email' then identifier_value end) as email,
        min(case when identifier_type = 'phone' then identifier_value end) as phone,
        min(case when identifier_type = 'shopify_customer_id' then identifier_value end) as any_customer_id,
        count(case when identifier_type = 'shopify_customer_id' then 1 end) as customer_id_count
    from ids group by customer_key
),
{#- Counted per address first, then per person: millions of messages meet the identity graph as one
    row per address, and sums and maxima add up the same either way. Delivered messages come from
    int_email_message_outcomes (the one definition of delivered); opens and clicks count every event
    (not unique) in the window. -#}
email_delivered_by_address as (
    select m.email,
        {% for d in [30, 90] -%}
        sum(case when m.delivered_at >= {{ dbt.dateadd('day', -d, as_of_end()) }} then 1 else 0 end) as emails_delivered_{{ d }}d,
        {% endfor -%}
        max(m.last_engaged_at) as last_email_engaged_at,
        min(m.delivered_at) as first_email_delivered_at,
        max(m.delivered_at) as last_email_delivered_at
    from {{ ref('int_email_message_outcomes') }} m
    where m.is_delivered
    group by m.email
),
email_responses_by_address as (
    select e.email,
        {% for d in [30, 90] -%}
        sum(case when e.event_type = 'open' and e.occurred_at >= {{ dbt.dateadd('day', -d, as_of_end()) }} then 1 else 0 end) as email_opens_{{ d }}d,
        sum(case when e.event_type = 'click' and e.occurred_at >= {{ dbt.dateadd('day', -d, as_of_end()) }} then 1 else 0 end) as email_clicks_{{ d }}d{{ ',' if not loop.last }}
        {% endfor -%}
    from {{ ref('stg_sendgrid__events') }} e
    where e.event_type in ('open', 'click')
    group by e.email
),
email_engagement_by_address as (
    select coalesce(d.email, r.email) as email,
        {% for d in [30, 90] -%}
        coalesce(d.emails_delivered_{{ d }}d, 0) as emails_delivered_{{ d }}d,
        coalesce(r.email_opens_{{ d }}d, 0) as email_opens_{{ d }}d,
        coalesce(r.email_clicks_{{ d }}d, 0) as email_clicks_{{ d }}d,
        {% endfor -%}
        d.last_email_engaged_at,
        d.first_email_delivered_at,
        d.last_email_delivered_at
    from email_delivered_by_address d
    full outer join email_responses_by_address r on r.email = d.email
),
email_engagement as (
    select i.customer_key,
        {% for d in [30, 90] -%}
        sum(e.emails_delivered_{{ d }}d) as emails_delivered_{{ d }}d,
        sum(e.email_opens_{{ d }}d) as email_opens_{{ d }}d,
        sum(e.email_clicks_{{ d }}d) as email_clicks_{{ d }}d,
        {% endfor -%}
        max(e.last_email_engaged_at) as last_email_engaged_at,
        min(e.first_email_delivered_at) as first_email_delivered_at,
        max(e.last_email_delivered_at) as last_email_delivered_at
    from email_engagement_by_address e
    inner join ids i on i.identifier_type = 'email' and i.identifier_value = e.email
    group by i.customer_key
),
sms_engagement as (
    select i.customer_key,
        {% for d in [30, 90] -%}
        sum(case when s.status = 'delivered' and s.received_at >= {{ dbt.dateadd('day', -d, as_of_end()) }} then 1 else 0 end) as sms_delivered_{{ d }}d,
        {% endfor -%}
        max(case when s.status = 'delivered' then s.received_at end) as last_sms_delivered_at
    from {{ ref('stg_twilio__message_status') }} s
    inner join ids i on i.identifier_type = 'phone' and i.identifier_value = s.to_phone
    group by i.customer_key
),
sms_replies as (
    select i.customer_key,
        {% for d in [30, 90] -%}
        sum(case when m.received_at >= {{ dbt.dateadd('day', -d, as_of_end()) }} then 1 else 0 end) as sms_replies_{{ d }}d{{ ',' if not loop.last }}
        {% endfor -%}
    from {{ ref('stg_twilio__inbound_messages') }} m
    inner join ids i on i.identifier_type = 'phone' and i.identifier_value = m.from_phone
    group by i.customer_key
),
nps as (
    select * from (
        select coalesce(ic.customer_key, ie.customer_key) as customer_key, n.score, n.nps_category, n.submitted_at,
            row_number() over (partition by coalesce(ic.customer_key, ie.customer_key) order by n.submitted_at desc, n.response_id) as rn
        from {{ ref('stg_nps__responses') }} n
        left join ids ic on ic.identifier_type = 'shopify_customer_id' and ic.identifier_value = cast(n.customer_id as {{ dbt.type_string() }})
        left join ids ie on ie.identifier_type = 'email' and ie.identifier_value = n.email
    ) x where rn = 1 and customer_key is not null
),
reviews as (
    select coalesce(ic.customer_key, ie.customer_key) as customer_key,
        count(*) as reviews_written, avg(r.rating * 1.0) as average_rating, max(r.created_at) as last_review_at
    from {{ ref('stg_reviews__reviews') }} r
    left join ids ic on ic.identifier_type = 'shopify_customer_id' and ic.identifier_value = cast(r.customer_id as {{ dbt.type_string() }})
    left join ids ie on ie.identifier_type = 'email' and ie.identifier_value = r.email
    where coalesce(ic.customer_key, ie.customer_key) is not null
    group by coalesce(ic.customer_key, ie.customer_key)
)
select
    k.customer_key,
    {{ dbt.cast('fc.any_customer_id', dbt.type_bigint()) }} as primary_customer_id,
    fc.customer_id_count,
    p.customer_id is null as is_guest_only,
    coalesce(p.email, fc.email) as email,
    coalesce(p.phone, fc.phone) as phone,
    p.first_name,
    p.last_name,
    p.country_code,
    p.created_at as account_created_at,
    -- consent and suppression
    cs.email_consent_state,
    cs.sms_consent_state,
    cs.email_suppression_reason is not null as is_email_suppressed,
    cs.email_suppression_reason,
    cs.email_suppressed_at,
    cs.email_unsubscribed_groups,
    coalesce(ef.email_frequency, 'as_usual') as email_frequency,
    cs.sms_suppression_reason is not null as is_sms_suppressed,
    cs.sms_suppression_reason,
    cs.sms_suppressed_at,
    (cs.email_consent_state = 'subscribed' and cs.email_suppression_reason is null and coalesce(p.email, fc.email) is not null) as is_email_marketable,
    (cs.sms_consent_state = 'subscribed' and cs.sms_suppression_reason is null and coalesce(p.phone, fc.phone) is not null) as is_sms_marketable,
    -- orders and value
    rfm.first_order_date,
    rfm.last_order_date,
    coalesce(rfm.order_count, 0) as order_count,
    {{ dbt.cast('coalesce(rfm.gross_revenue, 0)', 'decimal(18,2)') }} as gross_revenue,
    {{ dbt.cast('coalesce(rfm.net_revenue, 0)', 'decimal(18,2)') }} as net_revenue,
    {{ money_ratio('rfm.net_revenue', 'rfm.order_count') }} as average_order_value,
    rfm.days_since_last_order,
    {{ dbt.cast('rfm.avg_days_between_orders', 'decimal(18,1)') }} as avg_days_between_orders,
    rfm.recency_score,
    rfm.frequency_score,
    rfm.monetary_score,
    rfm.rfm_segment,
    case
        when coalesce(rfm.order_count, 0) = 0 then 'subscriber'
        when rfm.days_since_last_order > {{ var('lifecycle_lapsed_days') }} then 'lapsed'
        when rfm.days_since_last_order > {{ var('lifecycle_at_risk_days') }} then 'at_risk'
        when rfm.order_count >= {{ var('lifecycle_loyal_min_orders') }} then 'loyal'
        when rfm.order_count >= 2 then 'repeat'
        else 'first_time'
    end as lifecycle_stage,
    coalesce(lt.loyalty_tier, 'none') as loyalty_tier,
    coalesce(lt.net_spend_12m, 0) as net_spend_12m,
    lt.loyalty_tier_reached_on,
    coalesce(lb.points_balance, 0) as points_balance,
    lt.points_to_next_tier,
    case when p.customer_id is not null then {{ referral_code('k.customer_key') }} end as referral_code,
    -- predictions (models/predictions)
    pr.p_alive,
    pr.p_alive_previous,
    pr.expected_purchases_90d,
    {{ dbt.cast('pr.expected_spend', 'decimal(18,2)') }} as expected_spend,
    {{ dbt.cast('pr.predicted_clv_12m', 'decimal(18,2)') }} as predicted_clv_12m,
    case when pr.predicted_clv_12m is not null
         then percent_rank() over (partition by pr.predicted_clv_12m is not null order by pr.predicted_clv_12m) end as predicted_clv_percentile,
    pr.churn_risk,
    -- dates to celebrate
    p.birthday_year,
    p.birthday_month,
    p.birthday_day,
    case when p.birthday_month is not null then {{ retention.make_date_safe('coalesce(p.birthday_year, 1904)', 'p.birthday_month', 'p.birthday_day') }} end as birthday,
    rfm.first_order_date as first_purchase_anniversary,
    -- engagement
    coalesce(ee.emails_delivered_30d, 0) as emails_delivered_30d,
    coalesce(ee.email_opens_30d, 0) as email_opens_30d,
    coalesce(ee.email_clicks_30d, 0) as email_clicks_30d,
    coalesce(ee.emails_delivered_90d, 0) as emails_delivered_90d,
    coalesce(ee.email_opens_90d, 0) as email_opens_90d,
    coalesce(ee.email_clicks_90d, 0) as email_clicks_90d,
    ee.last_email_engaged_at,
    ee.first_email_delivered_at,
    ee.last_email_delivered_at,
    coalesce(se.sms_delivered_30d, 0) as sms_delivered_30d,
    coalesce(se.sms_delivered_90d, 0) as sms_delivered_90d,
    coalesce(sr.sms_replies_30d, 0) as sms_replies_30d,
    coalesce(sr.sms_replies_90d, 0) as sms_replies_90d,
    -- feedback
    nps.score as latest_nps_score,
    nps.nps_category as latest_nps_category,
    nps.submitted_at as latest_nps_at,
    coalesce(rv.reviews_written, 0) as reviews_written,
    {{ dbt.cast('rv.average_rating', 'decimal(4,2)') }} as average_rating,
    {{ as_of_date() }} as as_of
from keys k
left join fallback_contact fc on fc.customer_key = k.customer_key
left join profile p on p.customer_key = k.customer_key
left join {{ ref('int_consent') }} cs on cs.customer_key = k.customer_key
left join {{ ref('int_email_frequency') }} ef on ef.customer_key = k.customer_key
left join {{ ref('int_customer_rfm') }} rfm on rfm.customer_key = k.customer_key
left join {{ ref('int_loyalty') }} lt on lt.customer_key = k.customer_key
left join {{ ref('loyalty_balances') }} lb on lb.customer_key = k.customer_key
left join {{ ref('customer_predictions') }} pr on pr.customer_key = k.customer_key
left join email_engagement ee on ee.customer_key = k.customer_key
left join sms_engagement se on se.customer_key = k.customer_key
left join sms_replies sr on sr.customer_key = k.customer_key
left join nps on nps.customer_key = k.customer_key
left join reviews rv on rv.customer_key = k.customer_key
