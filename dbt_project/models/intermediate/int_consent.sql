{#- Email and SMS consent and suppression per customer_key as of as_of.
    Email suppression: the latest SendGrid unsubscribe / group_unsubscribe / bounce / spamreport
    event or entry on SendGrid's suppression lists (latest snapshot), else Shopify email consent 'unsubscribed' or 'redacted' (consent_withdrawn).
    SMS suppression: the latest STOP/START keyword from the person's phone; STOP suppresses, a later
    START restores. Else Shopify SMS consent 'unsubscribed'/'redacted' (consent_withdrawn). -#}
with ids as (select * from {{ ref('int_identity') }}),
customers as (
    select i.customer_key, c.*
    from {{ ref('stg_shopify__customers') }} c
    inner join ids i on i.identifier_type = 'shopify_customer_id' and i.identifier_value = cast(c.customer_id as {{ dbt.type_string() }})
),
shopify_consent as (
    select * from (
        select customer_key, email_consent_state, email_consent_updated_at, sms_consent_state, sms_consent_updated_at,
            row_number() over (partition by customer_key order by updated_at desc, customer_id) as rn
        from customers
    ) x where rn = 1
),
email_suppression_events as (
    select i.customer_key,
        case e.event_type when 'spamreport' then 'spam_report' else e.event_type end as reason,
        e.occurred_at,
        e.sg_event_id as tie_break
    from {{ ref('stg_sendgrid__events') }} e
    inner join ids i on i.identifier_type = 'email' and i.identifier_value = e.email
    where e.event_type in ('unsubscribe', 'group_unsubscribe', 'spamreport')
       or (e.event_type = 'bounce' and coalesce(e.bounce_type, 'bounce') = 'bounce')
    union all
    -- The provider's own lists catch what the webhook missed.
    select i.customer_key, s.suppression_reason, coalesce(s.suppressed_at, s.snapshot_at),
        {{ dbt.concat(["s.list_name", "':'", "s.email"]) }}
    from {{ ref('stg_sendgrid__suppressions') }} s
    inner join ids i on i.identifier_type = 'email' and i.identifier_value = s.email
    where s.suppression_reason is not null
),
email_suppressions as (
    select * from (
        select customer_key, reason, occurred_at,
            row_number() over (partition by customer_key order by occurred_at desc, tie_break) as rn
        from email_suppression_events
    ) x where rn = 1
),
sms_keywords as (
    select * from (
        select i.customer_key, m.opt_action, m.received_at,
            row_number() over (partition by i.customer_key order by m.received_at desc, m.message_sid) as rn
        from {{ ref('stg_twilio__inbound_messages') }} m
        inner join ids i on i.identifier_type = 'phone' and i.identifier_value = m.from_phone
        where m.opt_action in ('stop', 'start')
    ) x where rn = 1
),
keys as (select distinct customer_key from ids)
select
    k.customer_key,
    coalesce(sc.email_consent_state, 'not_subscribed') as email_consent_state,
    sc.email_consent_updated_at,
    coalesce(sc.sms_consent_state, 'not_subscribed') as sms_consent_state,
    sc.sms_consent_updated_at,
    case
        when es.reason is not null then es.reason
        when sc.email_consent_state in ('unsubscribed', 'redacted') then 'consent_withdrawn'
    end as email_suppression_reason,
    case
        when es.reason is not null then es.occurred_at
        when sc.email_consent_state in ('unsubscribed', 'redacted') then sc.email_consent_updated_at
    end as email_suppressed_at,
    case
        when sk.opt_action = 'stop' then 'sms_stop'
        when sk.opt_action = 'start' then null
        when sc.sms_consent_state in ('unsubscribed', 'redacted') then 'consent_withdrawn'
    end as sms_suppression_reason,
    case
        when sk.opt_action = 'stop' then sk.received_at
        when sk.opt_action = 'start' then null
        when sc.sms_consent_state in ('unsubscribed', 'redacted') then sc.sms_consent_updated_at
    end as sms_suppressed_at,
    case when sk.opt_action = 'start' then sk.received_at end as sms_restarted_at
from keys k
left join shopify_consent sc on sc.customer_key = k.customer_key
left join email_suppressions es on es.customer_key = k.customer_key
left join sms_keywords sk on sk.customer_key = k.customer_key
