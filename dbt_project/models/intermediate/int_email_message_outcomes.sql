{#- One row per SendGrid message (sg_message_id) as of as_of: what became of it. The one definition
    of delivered, opened, clicked, bounced and unsubscribed that every mart counts with
    (metrics_daily, campaign_sends, customers); see DECISIONS.md 'Email message outcomes'.
    - delivered: a `delivered` event, or an open, click, unsubscribe or spam report (each implies
      delivery); delivered_at is the first `delivered` event, else the first of those.
    - bounced: a `bounce` (incl. blocked) or `dropped` event and not delivered.
    - opened / clicked: at least one `open` / `click` event (both imply delivered).
    - unsubscribed: an `unsubscribe` or `group_unsubscribe` event; opted_out also counts a spam
      report. -#}
with events as (
    select
        sg_message_id,
        send_id,
        email,
        event_type,
        occurred_at
    from {{ ref('stg_sendgrid__events') }}
    where sg_message_id is not null
),

messages as (
    select
        sg_message_id,
        min(send_id) as send_id,
        min(email) as email,
        min(occurred_at) as first_event_at,
        min(case when event_type = 'delivered' then occurred_at end) as delivered_event_at,
        min(
            case
                when event_type in ('open', 'click', 'unsubscribe', 'group_unsubscribe', 'spamreport')
                    then occurred_at
            end
        ) as first_response_at,
        min(case when event_type = 'open' then occurred_at end) as first_opened_at,
        min(case when event_type = 'click' then occurred_at end) as first_clicked_at,
        max(case when event_type in ('open', 'click') then occurred_at end) as last_engaged_at,
        min(case when event_type in ('bounce', 'dropped') then occurred_at end) as first_failed_at,
        min(
            case when event_type in ('unsubscribe', 'group_unsubscribe') then occurred_at end
        ) as unsubscribed_at,
        min(
            case
                when event_type in ('unsubscribe', 'group_unsubscribe', 'spamreport') then occurred_at
            end
        ) as opted_out_at,
        sum(case when event_type = 'open' then 1 else 0 end) as open_count,
        sum(case when event_type = 'click' then 1 else 0 end) as click_count
    from events
    group by sg_message_id
)

select
    sg_message_id,
    send_id,
    email,
    first_event_at,
    coalesce(delivered_event_at, first_response_at) as delivered_at,
    first_opened_at,
    first_clicked_at,
    last_engaged_at,
    case when delivered_event_at is null and first_response_at is null then first_failed_at end as bounced_at,
    unsubscribed_at,
    opted_out_at,
    open_count,
    click_count,
    delivered_event_at is not null or first_response_at is not null as is_delivered,
    first_opened_at is not null as is_opened,
    first_clicked_at is not null as is_clicked,
    delivered_event_at is null and first_response_at is null and first_failed_at is not null as is_bounced,
    unsubscribed_at is not null as is_unsubscribed
from messages
