{#- One row per UTC day from the first day of store activity up to as_of (metrics defined in
    _metrics_and_products.yml), assembled from one daily model per family of metrics
    (models/intermediate/metrics_daily). Every family reads models already cut at as_of, and the spine
    stops at as_of, so no later data can appear. A day without a family's activity counts 0 for it
    (its rates are null). -#}
with history_start as (
    -- the first day with an order, an email, an SMS sent, a session, a checkout, an NPS answer or a review
    select min(day) as first_day from (
        select min(case when orders > 0 then day end) as day from {{ ref('int_metrics_daily__orders') }}
        union all select min(day) from {{ ref('int_metrics_daily__email') }}
        union all select min(case when sms_sent > 0 then day end) from {{ ref('int_metrics_daily__sms') }}
        union all select min(day) from {{ ref('int_metrics_daily__web') }}
        union all select min(day) from {{ ref('int_metrics_daily__checkouts') }}
        union all select min(case when nps_responses > 0 then day end) from {{ ref('int_metrics_daily__feedback') }}
        union all select min(case when reviews > 0 then day end) from {{ ref('int_metrics_daily__feedback') }}
    ) as x
),

spine as (
    {{ metrics_day_spine('(select first_day from history_start)') }}
)

select
    s.day,
    coalesce(o.orders, 0) as orders,
    {{ dbt.cast('coalesce(o.gross_revenue, 0)', 'decimal(18,2)') }} as gross_revenue,
    {{ dbt.cast('coalesce(o.refunded_amount, 0)', 'decimal(18,2)') }} as refunded_amount,
    {{ dbt.cast('coalesce(o.net_revenue, 0)', 'decimal(18,2)') }} as net_revenue,
    o.average_order_value,
    coalesce(o.ordering_customers, 0) as ordering_customers,
    coalesce(o.new_customers, 0) as new_customers,
    coalesce(o.returning_customers, 0) as returning_customers,
    coalesce(c.customers_to_date, 0) as customers_to_date,
    coalesce(c.repeat_customers_to_date, 0) as repeat_customers_to_date,
    c.repeat_purchase_rate,
    c.purchase_frequency,
    coalesce(c.active_customers, 0) as active_customers,
    coalesce(c.churned_customers, 0) as churned_customers,
    c.churn_rate,
    {{ metrics_ratio(
        'sum(coalesce(o.net_revenue, 0)) over (order by s.day rows between unbounded preceding and current row)',
        'c.customers_to_date'
    ) }} as realised_revenue_per_customer,
    v.average_predicted_clv_12m,
    coalesce(v.predicted_customers, 0) as predicted_customers,
    coalesce(e.emails_sent, 0) as emails_sent,
    coalesce(e.emails_delivered, 0) as emails_delivered,
    coalesce(e.emails_opened, 0) as emails_opened,
    coalesce(e.emails_clicked, 0) as emails_clicked,
    coalesce(e.emails_bounced, 0) as emails_bounced,
    coalesce(e.emails_unsubscribed, 0) as emails_unsubscribed,
    coalesce(e.email_frequency_lowered, 0) as email_frequency_lowered,
    e.email_delivery_rate,
    e.email_open_rate,
    e.email_click_rate,
    e.email_bounce_rate,
    e.email_unsubscribe_rate,
    coalesce(m.sms_sent, 0) as sms_sent,
    coalesce(m.sms_delivered, 0) as sms_delivered,
    coalesce(m.sms_opt_outs, 0) as sms_opt_outs,
    m.sms_delivery_rate,
    m.sms_opt_out_rate,
    coalesce(f.nps_responses, 0) as nps_responses,
    coalesce(f.nps_promoters, 0) as nps_promoters,
    coalesce(f.nps_detractors, 0) as nps_detractors,
    f.nps,
    coalesce(f.reviews, 0) as reviews,
    f.average_rating,
    coalesce(f.reviews_with_text, 0) as reviews_with_text,
    coalesce(f.positive_reviews, 0) as positive_reviews,
    coalesce(f.negative_reviews, 0) as negative_reviews,
    f.positive_review_share,
    f.negative_review_share,
    f.average_review_sentiment,
    coalesce(w.sessions, 0) as sessions,
    coalesce(w.pageviews, 0) as pageviews,
    coalesce(w.bounced_sessions, 0) as bounced_sessions,
    w.pages_per_session,
    w.bounce_rate,
    coalesce(w.session_seconds, 0) as session_seconds,
    w.median_session_seconds,
    w.mean_session_seconds,
    coalesce(w.social_sessions, 0) as social_sessions,
    w.social_session_rate,
    coalesce(w.shares, 0) as shares,
    coalesce(r.campaign_recipients, 0) as campaign_recipients,
    {{ dbt.cast('coalesce(r.campaign_attributed_revenue, 0)', 'decimal(18,2)') }} as campaign_attributed_revenue,
    r.revenue_per_recipient,
    coalesce(k.checkouts_abandoned, 0) as checkouts_abandoned,
    coalesce(k.checkouts_recovered, 0) as checkouts_recovered,
    coalesce(o.orders, 0) + coalesce(k.checkouts_abandoned, 0) - coalesce(k.checkouts_recovered, 0) as checkouts_started,
    {{ metrics_ratio(
        'coalesce(k.checkouts_abandoned, 0) - coalesce(k.checkouts_recovered, 0)',
        'coalesce(o.orders, 0) + coalesce(k.checkouts_abandoned, 0) - coalesce(k.checkouts_recovered, 0)'
    ) }} as cart_abandonment_rate,
    k.cart_recovery_rate,
    {{ as_of_date() }} as as_of
from spine as s
left join {{ ref('int_metrics_daily__orders') }} as o on s.day = o.day
left join {{ ref('int_metrics_daily__customers') }} as c on s.day = c.day
left join {{ ref('int_metrics_daily__email') }} as e on s.day = e.day
left join {{ ref('int_metrics_daily__sms') }} as m on s.day = m.day
left join {{ ref('int_metrics_daily__feedback') }} as f on s.day = f.day
left join {{ ref('int_metrics_daily__web') }} as w on s.day = w.day
left join {{ ref('int_metrics_daily__checkouts') }} as k on s.day = k.day
left join {{ ref('int_metrics_daily__campaigns') }} as r on s.day = r.day
left join {{ ref('int_metrics_daily__clv') }} as v on s.day = v.day
