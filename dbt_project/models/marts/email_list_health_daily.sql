{#- List health per UTC day and campaign (the SendGrid `campaign` custom argument; `(none)` for mail
    sent outside the campaigns): deliveries, spam reports and hard bounces of that day, and the rates
    mailbox providers judge a sender by. Gmail and Yahoo's bulk-sender rules (2024) require a spam
    rate below 0.3%; activation pauses promotional email above the limits in campaigns.yml
    (settings.list_health, retention/activation/list_health.py). -#}
with events as (
    select
        {{ metrics_day('occurred_at') }} as day,
        coalesce(campaign, '(none)') as campaign,
        event_type,
        bounce_type
    from {{ ref('stg_sendgrid__events') }}
    where event_type in ('delivered', 'spamreport', 'bounce')
),

daily as (
    select
        day,
        campaign,
        sum(case when event_type = 'delivered' then 1 else 0 end) as emails_delivered,
        sum(case when event_type = 'spamreport' then 1 else 0 end) as spam_reports,
        sum(case when event_type = 'bounce' and coalesce(bounce_type, 'bounce') = 'bounce' then 1 else 0 end)
            as hard_bounces
    from events
    group by day, campaign
)

select
    day,
    campaign,
    emails_delivered,
    spam_reports,
    hard_bounces,
    {{ metrics_ratio('spam_reports', 'emails_delivered') }} as spam_rate,
    {{ metrics_ratio('hard_bounces', 'emails_delivered + hard_bounces') }} as bounce_rate
from daily
