{#- Campaign messages per UTC day they reached their recipient (campaign_sends.touched_at of treated
    records): recipients (distinct customers messaged that day), the revenue last-touch attributed to
    those messages (campaign_sends, whenever the order came within its window) and revenue per
    recipient. One row per day with a treated message. -#}
with treated as (
    select
        {{ metrics_day('touched_at') }} as day,
        customer_key,
        attributed_revenue
    from {{ ref('campaign_sends') }}
    where is_treated
)

select
    day,
    count(distinct customer_key) as campaign_recipients,
    sum(attributed_revenue) as campaign_attributed_revenue,
    {{ metrics_ratio('sum(attributed_revenue)', 'count(distinct customer_key)') }} as revenue_per_recipient
from treated
group by day
