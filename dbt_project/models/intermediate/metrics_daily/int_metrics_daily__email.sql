{#- Email per UTC day: the messages of int_email_message_outcomes dated by their first event, and
    what became of them (as known on as_of); and the people whose current choice of less email
    (weekly, monthly, order updates only) was made that day. One row per day with either. -#}
with email_days as (
    select
        {{ metrics_day('first_event_at') }} as day,
        count(*) as emails_sent,
        sum(case when is_delivered then 1 else 0 end) as emails_delivered,
        sum(case when is_opened then 1 else 0 end) as emails_opened,
        sum(case when is_clicked then 1 else 0 end) as emails_clicked,
        sum(case when is_bounced then 1 else 0 end) as emails_bounced,
        sum(case when is_unsubscribed then 1 else 0 end) as emails_unsubscribed
    from {{ ref('int_email_message_outcomes') }}
    group by {{ metrics_day('first_event_at') }}
),

frequency_days as (
    select {{ metrics_day('email_frequency_chosen_at') }} as day, count(*) as email_frequency_lowered
    from {{ ref('int_email_frequency') }}
    where email_frequency <> 'as_usual'
    group by {{ metrics_day('email_frequency_chosen_at') }}
)

select
    coalesce(email_days.day, f.day) as day,
    emails_sent,
    emails_delivered,
    emails_opened,
    emails_clicked,
    emails_bounced,
    emails_unsubscribed,
    coalesce(f.email_frequency_lowered, 0) as email_frequency_lowered,
    {{ metrics_ratio('emails_delivered', 'emails_sent') }} as email_delivery_rate,
    {{ metrics_ratio('emails_opened', 'emails_delivered') }} as email_open_rate,
    {{ metrics_ratio('emails_clicked', 'emails_delivered') }} as email_click_rate,
    {{ metrics_ratio('emails_bounced', 'emails_sent') }} as email_bounce_rate,
    {{ metrics_ratio('emails_unsubscribed', 'emails_delivered') }} as email_unsubscribe_rate
from email_days
full outer join frequency_days as f on email_days.day = f.day
