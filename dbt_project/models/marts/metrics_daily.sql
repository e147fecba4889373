{#- One row per UTC day from the first day of store activity up to as_of (metrics defined in
    _metrics_and_products.yml). Everything is read from models already cut at as_of, and the spine
    stops at as_of, so no later data can appear. Orders are the non-cancelled, non-test orders of
    int_orders_enriched (cancellation status as known on as_of); refunds count on their refund date.
    var('metrics_churn_days', 180): a customer is active on day d if they ordered in (d - N, d]. -#}
{%- set churn_days = var('metrics_churn_days', 180) -%}
with orders as (
    select order_id, customer_key, order_date, gross_revenue, checkout_id
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled and order_date <= {{ as_of_date() }}
),
refunds as (
    select r.refund_date as day, sum(r.refund_amount) as refunded_amount, count(*) as refunds
    from {{ ref('stg_shopify__refunds') }} r
    inner join orders o on o.order_id = r.order_id
    where r.refund_date <= {{ as_of_date() }}
    group by r.refund_date
),
first_orders as (
    select customer_key, min(order_date) as first_order_date
    from orders where customer_key is not null group by customer_key
),
-- nth order of each customer (ties on a day broken by order_id): the 2nd order makes a repeat customer
ranked_orders as (
    select customer_key, order_date,
        row_number() over (partition by customer_key order by order_date, order_id) as customer_order_number
    from orders where customer_key is not null
),
-- active spells: an order keeps its customer active for N days, until the next order restarts the clock
spells as (
    select customer_key, order_date as spell_start,
        case when next_order_date is not null and next_order_date <= {{ dbt.dateadd('day', churn_days, 'order_date') }}
             then next_order_date
             else {{ dbt.cast(dbt.dateadd('day', churn_days, 'order_date'), 'date') }} end as spell_end_exclusive
    from (
        select customer_key, order_date,
            lead(order_date) over (partition by customer_key order by order_date, order_id) as next_order_date
        from orders where customer_key is not null
    ) x
),
spell_deltas as (
    select spell_start as day, 1 as delta from spells
    union all
    select {{ dbt.cast('spell_end_exclusive', 'date') }} as day, -1 as delta from spells
),
active_changes as (
    select day, sum(delta) as delta from spell_deltas group by day
),
order_days as (
    select o.order_date as day,
        count(*) as orders,
        sum(o.gross_revenue) as gross_revenue,
        count(distinct o.customer_key) as ordering_customers,
        count(distinct case when f.first_order_date = o.order_date then o.customer_key end) as new_customers,
        count(distinct case when f.first_order_date < o.order_date then o.customer_key end) as returning_customers
    from orders o
    left join first_orders f on f.customer_key = o.customer_key
    group by o.order_date
),
customer_days as (
    select order_date as day,
        sum(case when customer_order_number = 1 then 1 else 0 end) as first_time_buyers,
        sum(case when customer_order_number = 2 then 1 else 0 end) as second_time_buyers,
        count(*) as customer_orders
    from ranked_orders group by order_date
),
-- email: one row per SendGrid message (sg_message_id), dated by its first event; an open, click or
-- unsubscribe implies delivery
email_messages as (
    select
        sg_message_id,
        min(occurred_at) as first_event_at,
        max(case when event_type in ('delivered', 'open', 'click', 'unsubscribe', 'group_unsubscribe', 'spamreport') then 1 else 0 end) as is_delivered,
        max(case when event_type = 'open' then 1 else 0 end) as is_opened,
        max(case when event_type = 'click' then 1 else 0 end) as is_clicked,
        max(case when event_type in ('bounce', 'dropped') then 1 else 0 end) as is_bounced,
        max(case when event_type in ('unsubscribe', 'group_unsubscribe') then 1 else 0 end) as is_unsubscribed
    from {{ ref('stg_sendgrid__events') }}
    where sg_message_id is not null
    group by sg_message_id
),
email_days as (
    select {{ metrics_day('first_event_at') }} as day,
        count(*) as emails_sent,
        sum(case when is_bounced = 1 and is_delivered = 0 then 1 else 0 end) as emails_bounced,
        sum(is_delivered) as emails_delivered,
        sum(is_delivered * is_opened) as emails_opened,
        sum(is_delivered * is_clicked) as emails_clicked,
        sum(is_delivered * is_unsubscribed) as emails_unsubscribed
    from email_messages
    group by {{ metrics_day('first_event_at') }}
),
-- SMS: one row per Twilio message, dated by its first status callback
sms_messages as (
    select message_sid, min(received_at) as first_status_at,
        max(case when status = 'delivered' then 1 else 0 end) as is_delivered
    from {{ ref('stg_twilio__message_status') }}
    group by message_sid
),
sms_days as (
    select {{ metrics_day('first_status_at') }} as day,
        count(*) as sms_sent,
        sum(is_delivered) as sms_delivered
    from sms_messages
    group by {{ metrics_day('first_status_at') }}
),
sms_stops as (
    select {{ metrics_day('received_at') }} as day, count(*) as sms_opt_outs
    from {{ ref('stg_twilio__inbound_messages') }}
    where opt_action = 'stop'
    group by {{ metrics_day('received_at') }}
),
nps_days as (
    select {{ metrics_day('submitted_at') }} as day,
        count(*) as nps_responses,
        sum(case when nps_category = 'promoter' then 1 else 0 end) as nps_promoters,
        sum(case when nps_category = 'detractor' then 1 else 0 end) as nps_detractors
    from {{ ref('stg_nps__responses') }}
    group by {{ metrics_day('submitted_at') }}
),
review_days as (
    select {{ metrics_day('created_at') }} as day,
        count(*) as reviews,
        avg({{ dbt.cast('rating', 'double') }}) as average_rating
    from {{ ref('stg_reviews__reviews') }}
    where rating is not null
    group by {{ metrics_day('created_at') }}
),
sessions as (
    select session_id, min(occurred_at) as started_at,
        count(*) as events,
        sum(case when event_type in ('page_view', 'product_view') then 1 else 0 end) as pages
    from {{ ref('stg_web__events') }}
    where session_id is not null
    group by session_id
),
session_days as (
    select {{ metrics_day('started_at') }} as day,
        count(*) as sessions,
        sum(pages) as pageviews,
        sum(case when events = 1 then 1 else 0 end) as bounced_sessions
    from sessions
    group by {{ metrics_day('started_at') }}
),
-- the landing zone holds only abandoned checkouts; completed_at (<= as_of) marks a recovered one
checkout_days as (
    select {{ metrics_day('created_at') }} as day,
        count(*) as checkouts_abandoned,
        sum(case when completed_at is not null then 1 else 0 end) as checkouts_recovered
    from {{ ref('stg_shopify__checkouts') }}
    group by {{ metrics_day('created_at') }}
),
history_start as (
    select min(day) as first_day from (
        select min(order_date) as day from orders
        union all select min(day) from email_days
        union all select min(day) from sms_days
        union all select min(day) from session_days
        union all select min(day) from checkout_days
        union all select min(day) from nps_days
        union all select min(day) from review_days
    ) x
),
spine as (
    select {{ dbt.cast(dbt.dateadd('day', 'i.n', 'h.first_day'), 'date') }} as day
    from history_start h
    cross join ({{ metrics_integers(5) }}) i
    where h.first_day is not null
      and i.n <= {{ dbt.datediff('h.first_day', as_of_date(), 'day') }}
),
joined as (
    select
        s.day,
        coalesce(od.orders, 0) as orders,
        coalesce(od.gross_revenue, 0) as gross_revenue,
        coalesce(rf.refunded_amount, 0) as refunded_amount,
        coalesce(od.ordering_customers, 0) as ordering_customers,
        coalesce(od.new_customers, 0) as new_customers,
        coalesce(od.returning_customers, 0) as returning_customers,
        sum(coalesce(cd.first_time_buyers, 0)) over (order by s.day rows between unbounded preceding and current row) as customers_to_date,
        sum(coalesce(cd.second_time_buyers, 0)) over (order by s.day rows between unbounded preceding and current row) as repeat_customers_to_date,
        sum(coalesce(cd.customer_orders, 0)) over (order by s.day rows between unbounded preceding and current row) as orders_to_date,
        sum(coalesce(ac.delta, 0)) over (order by s.day rows between unbounded preceding and current row) as active_customers,
        coalesce(ed.emails_sent, 0) as emails_sent,
        coalesce(ed.emails_delivered, 0) as emails_delivered,
        coalesce(ed.emails_opened, 0) as emails_opened,
        coalesce(ed.emails_clicked, 0) as emails_clicked,
        coalesce(ed.emails_bounced, 0) as emails_bounced,
        coalesce(ed.emails_unsubscribed, 0) as emails_unsubscribed,
        coalesce(sd.sms_sent, 0) as sms_sent,
        coalesce(sd.sms_delivered, 0) as sms_delivered,
        coalesce(ss.sms_opt_outs, 0) as sms_opt_outs,
        coalesce(nd.nps_responses, 0) as nps_responses,
        coalesce(nd.nps_promoters, 0) as nps_promoters,
        coalesce(nd.nps_detractors, 0) as nps_detractors,
        coalesce(rd.reviews, 0) as reviews,
        rd.average_rating,
        coalesce(wd.sessions, 0) as sessions,
        coalesce(wd.pageviews, 0) as pageviews,
        coalesce(wd.bounced_sessions, 0) as bounced_sessions,
        coalesce(ck.checkouts_abandoned, 0) as checkouts_abandoned,
        coalesce(ck.checkouts_recovered, 0) as checkouts_recovered
    from spine s
    left join order_days od on od.day = s.day
    left join refunds rf on rf.day = s.day
    left join customer_days cd on cd.day = s.day
    left join active_changes ac on ac.day = s.day
    left join email_days ed on ed.day = s.day
    left join sms_days sd on sd.day = s.day
    left join sms_stops ss on ss.day = s.day
    left join nps_days nd on nd.day = s.day
    left join review_days rd on rd.day = s.day
    left join session_days wd on wd.day = s.day
    left join checkout_days ck on ck.day = s.day
)
select
    day,
    orders,
    {{ dbt.cast('gross_revenue', 'decimal(18,2)') }} as gross_revenue,
    {{ dbt.cast('refunded_amount', 'decimal(18,2)') }} as refunded_amount,
    {{ dbt.cast('gross_revenue - refunded_amount', 'decimal(18,2)') }} as net_revenue,
    {{ dbt.cast(metrics_ratio('gross_revenue', 'orders'), 'decimal(18,2)') }} as average_order_value,
    ordering_customers,
    new_customers,
    returning_customers,
    customers_to_date,
    repeat_customers_to_date,
    {{ metrics_ratio('repeat_customers_to_date', 'customers_to_date') }} as repeat_purchase_rate,
    {{ metrics_ratio('orders_to_date', 'customers_to_date') }} as purchase_frequency,
    active_customers,
    customers_to_date - active_customers as churned_customers,
    {{ metrics_ratio('customers_to_date - active_customers', 'customers_to_date') }} as churn_rate,
    emails_sent,
    emails_delivered,
    emails_opened,
    emails_clicked,
    emails_bounced,
    emails_unsubscribed,
    {{ metrics_ratio('emails_delivered', 'emails_sent') }} as email_delivery_rate,
    {{ metrics_ratio('emails_opened', 'emails_delivered') }} as email_open_rate,
    {{ metrics_ratio('emails_clicked', 'emails_delivered') }} as email_click_rate,
    {{ metrics_ratio('emails_bounced', 'emails_sent') }} as email_bounce_rate,
    {{ metrics_ratio('emails_unsubscribed', 'emails_delivered') }} as email_unsubscribe_rate,
    sms_sent,
    sms_delivered,
    sms_opt_outs,
    {{ metrics_ratio('sms_delivered', 'sms_sent') }} as sms_delivery_rate,
    {{ metrics_ratio('sms_opt_outs', 'sms_delivered') }} as sms_opt_out_rate,
    nps_responses,
    nps_promoters,
    nps_detractors,
    100.0 * {{ metrics_ratio('nps_promoters - nps_detractors', 'nps_responses') }} as nps,
    reviews,
    average_rating,
    sessions,
    pageviews,
    bounced_sessions,
    {{ metrics_ratio('pageviews', 'sessions') }} as pages_per_session,
    {{ metrics_ratio('bounced_sessions', 'sessions') }} as bounce_rate,
    checkouts_abandoned,
    checkouts_recovered,
    orders + checkouts_abandoned - checkouts_recovered as checkouts_started,
    {{ metrics_ratio('checkouts_abandoned - checkouts_recovered', 'orders + checkouts_abandoned - checkouts_recovered') }} as cart_abandonment_rate,
    {{ metrics_ratio('checkouts_recovered', 'checkouts_abandoned') }} as cart_recovery_rate,
    {{ as_of_date() }} as as_of
from joined
