{#- One row per ledger record (send, holdout record, deferral, dead letter...) as of as_of, with the
    provider events that came back and its conversions.
    - Treated = status sent or outbox (a message was produced; outbox mode stands in for sending in demos
      and dry environments). Held out = status held_out.
    - touched_at = sent_at (else decided_at) for treated records, decided_at for holdout records.
    - Conversion window: (touched_at, touched_at + N days], N = var('attribution_window_days_email') (5)
      or var('attribution_window_days_sms') (1) by channel (email when the channel is missing).
    - converted: the person placed a non-cancelled order in the window (treated and holdout alike: the
      basis of lift).
    - Last touch: each order is attributed to the latest treated, non-bounced message to the person whose
      window contains it (ties: the larger send_id); attributed revenue is the order's gross revenue. -#}
with sends as (
    select s.*,
        s.status in ('sent', 'outbox') as is_treated,
        s.status = 'held_out' as is_holdout,
        case when s.status = 'held_out' then s.decided_at else coalesce(s.sent_at, s.decided_at) end as touched_at,
        {{ attribution_window_days("coalesce(s.channel, 'email')") }} as attribution_window_days
    from {{ ref('stg_activation__sends') }} s
),
{#- Only the messages of sends in the ledger: the event table also holds messages sent by other
    tools. Outcomes are defined once, in int_email_message_outcomes. -#}
email_events as (
    select send_id,
        min(delivered_at) as delivered_at,
        min(first_opened_at) as first_opened_at,
        min(first_clicked_at) as first_clicked_at,
        min(bounced_at) as bounced_at,
        sum(open_count) as open_count,
        sum(click_count) as click_count,
        min(opted_out_at) as unsubscribed_at
    from {{ ref('int_email_message_outcomes') }}
    where send_id in (select send_id from sends)
    group by send_id
),
sms_events as (
    select message_sid,
        min(case when status = 'delivered' then received_at end) as delivered_at,
        min(case when status in ('undelivered', 'failed') then received_at end) as bounced_at
    from {{ ref('stg_twilio__message_status') }}
    where message_sid in (select provider_message_id from sends where channel = 'sms')
    group by message_sid
),
with_events as (
    select s.*,
        {{ dbt.dateadd('day', 'attribution_window_days', 's.touched_at') }} as attribution_window_ends_at,
        case when s.channel = 'sms' then se.delivered_at else ee.delivered_at end as delivered_at,
        case when s.channel = 'sms' then null else ee.first_opened_at end as first_opened_at,
        case when s.channel = 'sms' then null else ee.first_clicked_at end as first_clicked_at,
        case when s.channel = 'sms' then se.bounced_at else ee.bounced_at end as bounced_at,
        case when s.channel = 'sms' then 0 else coalesce(ee.open_count, 0) end as open_count,
        case when s.channel = 'sms' then 0 else coalesce(ee.click_count, 0) end as click_count,
        case when s.channel = 'sms' then null else ee.unsubscribed_at end as unsubscribed_at
    from sends s
    left join email_events ee on ee.send_id = s.send_id and coalesce(s.channel, 'email') = 'email'
    left join sms_events se on se.message_sid = s.provider_message_id and s.channel = 'sms'
),
orders as (
    select order_id, customer_key, created_at, gross_revenue
    from {{ ref('orders') }}
    where not is_cancelled and customer_key is not null
),
conversions as (
    select s.send_id, count(*) as conversion_orders, min(o.created_at) as first_conversion_at
    from with_events s
    inner join orders o on o.customer_key = s.customer_key
        and o.created_at > s.touched_at and o.created_at <= s.attribution_window_ends_at
    where s.is_treated or s.is_holdout
    group by s.send_id
),
touches as (
    select o.order_id, o.gross_revenue, s.send_id,
        row_number() over (partition by o.order_id order by s.touched_at desc, s.send_id desc) as touch_rank
    from orders o
    inner join with_events s on s.customer_key = o.customer_key
        and o.created_at > s.touched_at and o.created_at <= s.attribution_window_ends_at
    where s.is_treated and s.bounced_at is null
),
attributed as (
    select send_id, count(*) as attributed_orders, sum(gross_revenue) as attributed_revenue
    from touches
    where touch_rank = 1
    group by send_id
)
select
    s.send_id,
    s.campaign,
    s.step,
    s.customer_key,
    s.occurrence,
    s.channel,
    s.status,
    s.mode,
    s.batch_id,
    s.decided_at,
    s.sent_at,
    s.not_before,
    s.provider_message_id,
    s.coupon_code,
    s.error,
    s.attempts,
    s.audience_as_of,
    s.run_id,
    s.variant,
    s.is_treated,
    s.is_holdout,
    s.touched_at,
    s.attribution_window_days,
    s.attribution_window_ends_at,
    s.attribution_window_ends_at < {{ as_of_end() }} as is_window_closed,
    s.delivered_at,
    s.first_opened_at,
    s.first_clicked_at,
    s.bounced_at,
    s.unsubscribed_at,
    s.is_treated and s.delivered_at is not null as is_delivered,
    s.is_treated and s.first_opened_at is not null as is_opened,
    s.is_treated and s.first_clicked_at is not null as is_clicked,
    s.is_treated and s.bounced_at is not null as is_bounced,
    s.open_count,
    s.click_count,
    (s.is_treated or s.is_holdout) and c.send_id is not null as converted,
    coalesce(c.conversion_orders, 0) as conversion_orders,
    c.first_conversion_at,
    coalesce(a.attributed_orders, 0) as attributed_orders,
    {{ dbt.cast('coalesce(a.attributed_revenue, 0)', 'decimal(18,2)') }} as attributed_revenue,
    {{ as_of_date() }} as as_of
from with_events s
left join conversions c on c.send_id = s.send_id
left join attributed a on a.send_id = s.send_id
