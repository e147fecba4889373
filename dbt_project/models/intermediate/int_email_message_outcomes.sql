{#- One row per SendGrid message (sg_message_id) as of as_of: what became of it. The one definition
    of delivered, opened, clicked, bounced and unsubscribed that every mart counts with
    (metrics_daily, campaign_sends, customers); see DECISIONS.md 'Email message outcomes'.
    - delivered: a `delivered` event, or an open, click, unsubscribe or spam report (each implies
      delivery); delivered_at is the first `delivered` event, else the first of those.
    - bounced: a `bounce` (incl. blocked) or `dropped` event and not delivered.
    - opened / clicked: at least one `open` / `click` event (both imply delivered).
    - unsubscribed: an `unsubscribe` or `group_unsubscribe` event; opted_out also counts a spam
      report.
    Incremental on DuckDB: a run recomputes, from all their events, the messages with an event
    delivered in the window (macros/incremental.sql); delivered_on and last_event_at say how far
    each row has seen, so a backfill or an earlier increment run again opens the window fully. -#}
{{ config(
    materialized=delivery_materialization(),
    unique_key='sg_message_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{%- set start = incremental_window_start('last_event_at', ['sg_message_id', 'delivered_on', 'last_event_at']) %}
with events as (
    select
        sg_message_id,
        send_id,
        email,
        event_type,
        occurred_at,
        delivered_on
    from {{ ref('stg_sendgrid__events') }}
    where sg_message_id is not null
    {%- if start is not none %}
      and sg_message_id in (select sg_message_id from {{ ref('stg_sendgrid__events') }} where delivered_on >= {{ start }})
    {%- endif %}
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
        sum(case when event_type = 'click' then 1 else 0 end) as click_count,
        max(occurred_at) as last_event_at,
        max(delivered_on) as delivered_on
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
    unsubscribed_at is not null as is_unsubscribed,
    last_event_at,
    delivered_on
from messages
