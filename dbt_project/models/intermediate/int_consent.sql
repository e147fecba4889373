{#- Email and SMS consent and suppression per customer_key as of as_of.
    Email: every consent change from SendGrid's webhook, SendGrid's suppression lists and Shopify
    is one event in a scope; the latest event of a scope decides it (so a re-subscribe after an
    unsubscribe restores, from whichever source it comes). Scopes:
    - `group`: one SendGrid unsubscribe group (ASM): group_unsubscribe / group_resubscribe and the
      group's list. It stops only the campaigns of that group (email_unsubscribed_groups).
    - `optout`: all email, by the person's choice: unsubscribe, Shopify consent withdrawn, or
      `sunset` (no open or click within `sunset_grace_days` after the sunset campaign's message);
      lifted by Shopify consent back to subscribed or a removal from SendGrid's global unsubscribe list.
    - `list`: all email, by the provider: bounce, spam report, invalid address, one scope per
      reason; lifted only when SendGrid takes the address off that list (a later snapshot).
    At equal times a suppression wins over a restore.
    SMS suppression: the latest STOP/START keyword from the person's phone; STOP suppresses, a later
    START restores. Else Shopify SMS consent 'unsubscribed'/'redacted' (consent_withdrawn). Where the
    store requires double opt-in (var sms_double_opt_in), a `subscribed` consent is
    `awaiting_confirmation` until Shopify says confirmed_opt_in or the person replies YES (or START)
    after giving it. -#}
with ids as (select * from {{ ref('int_identity') }}),
customers as (
    select i.customer_key, c.*
    from {{ ref('stg_shopify__customers') }} c
    inner join ids i on i.identifier_type = 'shopify_customer_id' and i.identifier_value = cast(c.customer_id as {{ dbt.type_string() }})
),
shopify_consent as (
    select * from (
        select customer_key, email_consent_state, email_consent_updated_at, sms_consent_state, sms_consent_updated_at,
            sms_consent_opt_in_level, sms_consent_collected_from,
            row_number() over (partition by customer_key order by updated_at desc, customer_id) as rn
        from customers
    ) x where rn = 1
),
sendgrid_events as (
    select i.customer_key, e.*
    from {{ ref('stg_sendgrid__events') }} e
    inner join ids i on i.identifier_type = 'email' and i.identifier_value = e.email
    where e.event_type in ('unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'spamreport')
       or (e.event_type = 'bounce' and coalesce(e.bounce_type, 'bounce') = 'bounce')
),
email_engagement as (
    select i.customer_key, max(m.last_engaged_at) as last_engaged_at
    from {{ ref('int_email_message_outcomes') }} m
    inner join ids i on i.identifier_type = 'email' and i.identifier_value = m.email
    group by i.customer_key
),
sunset_messages as (
    -- the sunset campaign's message as SendGrid handled it (from its events, not from the ledger:
    -- the ledger's sends come after the audiences that read this model)
    select i.customer_key, e.send_id as occurrence, min(e.occurred_at) as sent_at
    from {{ ref('stg_sendgrid__events') }} e
    inner join ids i on i.identifier_type = 'email' and i.identifier_value = e.email
    where e.campaign = {{ dbt.string_literal(var('sunset_campaign', 'sunset')) }}
        and e.event_type in ('processed', 'delivered')
    group by i.customer_key, e.send_id
),
sunsets as (
    -- asked whether they still want email and silent through the grace period
    select s.customer_key, {{ dbt.dateadd('day', var('sunset_grace_days', 14), 's.sent_at') }} as suppressed_at,
        s.occurrence
    from sunset_messages s
    left join email_engagement en on en.customer_key = s.customer_key
    where en.last_engaged_at is null or en.last_engaged_at < s.sent_at
),
email_events as (
    -- a group event without its group cannot be scoped, so it counts as an unsubscribe from all email
    select customer_key,
        case
            when event_type in ('group_unsubscribe', 'group_resubscribe') and asm_group_id is not null then 'group'
            when event_type in ('unsubscribe', 'group_unsubscribe') then 'optout'
            else 'list'
        end as scope,
        case when event_type in ('group_unsubscribe', 'group_resubscribe') then asm_group_id end as group_id,
        case event_type
            when 'spamreport' then 'spam_report'
            when 'group_unsubscribe' then case when asm_group_id is null then 'unsubscribe' else 'group_unsubscribe' end
            else event_type
        end as reason,
        event_type <> 'group_resubscribe' as is_suppression,
        occurred_at,
        sg_event_id as tie_break
    from sendgrid_events
    where event_type <> 'group_resubscribe' or asm_group_id is not null
    union all
    -- The provider's own lists catch what the webhook missed ...
    select i.customer_key,
        case s.suppression_reason when 'group_unsubscribe' then 'group' when 'unsubscribe' then 'optout' else 'list' end,
        s.group_id, s.suppression_reason, true, coalesce(s.suppressed_at, s.snapshot_at),
        {{ dbt.concat(["s.list_name", "':'", "s.email"]) }}
    from {{ ref('stg_sendgrid__suppressions') }} s
    inner join ids i on i.identifier_type = 'email' and i.identifier_value = s.email
    where s.suppression_reason is not null
    union all
    -- ... and their removals are the provider's word that the address may be mailed again
    select i.customer_key,
        case r.suppression_reason when 'group_unsubscribe' then 'group' when 'unsubscribe' then 'optout' else 'list' end,
        r.group_id, r.suppression_reason, false, r.removed_at,
        {{ dbt.concat(["'removed:'", "r.list_name", "':'", "r.email"]) }}
    from {{ ref('stg_sendgrid__suppression_removals') }} r
    inner join ids i on i.identifier_type = 'email' and i.identifier_value = r.email
    where r.suppression_reason is not null
    union all
    -- Shopify's consent: withdrawn suppresses, subscribed again restores (an unknown time is the oldest)
    select customer_key, 'optout', null,
        case when email_consent_state = 'subscribed' then 'resubscribed' else 'consent_withdrawn' end,
        email_consent_state <> 'subscribed',
        coalesce(email_consent_updated_at, {{ dbt.cast("'1970-01-01'", dbt.type_timestamp()) }}),
        'shopify'
    from shopify_consent
    where email_consent_state in ('subscribed', 'unsubscribed', 'redacted')
    union all
    select customer_key, 'optout', null, 'sunset', true, suppressed_at, {{ dbt.concat(["'sunset:'", "occurrence"]) }}
    from sunsets
    where suppressed_at < {{ as_of_end() }}
),
email_scope_latest as (
    select * from (
        select *,
            row_number() over (
                partition by customer_key, scope, coalesce(group_id, -1), case when scope = 'list' then reason end
                order by occurred_at desc, is_suppression desc, tie_break
            ) as rn
        from email_events
    ) x where rn = 1 and is_suppression
),
email_suppressions as (
    -- a provider list outranks an opt-out: it says the address itself must not be mailed
    select * from (
        select customer_key, reason, occurred_at,
            row_number() over (
                partition by customer_key order by case scope when 'list' then 0 else 1 end, occurred_at desc, reason
            ) as rn
        from email_scope_latest
        where scope in ('list', 'optout')
    ) x where rn = 1
),
email_groups as (
    select customer_key,
        {{ ordered_listagg(dbt.cast('group_id', dbt.type_string()), "','", 'group_id') }} as unsubscribed_groups
    from email_scope_latest
    where scope = 'group'
    group by customer_key
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
sms_confirmations as (
    -- the latest reply that confirms: YES to the double opt-in request, or a START
    select * from (
        select i.customer_key, m.received_at as confirmed_at,
            upper(trim(coalesce(m.keyword, m.body))) as confirmed_with,
            row_number() over (partition by i.customer_key order by m.received_at desc, m.message_sid) as rn
        from {{ ref('stg_twilio__inbound_messages') }} m
        inner join ids i on i.identifier_type = 'phone' and i.identifier_value = m.from_phone
        where m.opt_action in ('confirm', 'start')
    ) x where rn = 1
),
keys as (select distinct customer_key from ids)
select
    k.customer_key,
    coalesce(sc.email_consent_state, 'not_subscribed') as email_consent_state,
    sc.email_consent_updated_at,
    coalesce(sc.sms_consent_state, 'not_subscribed') as sms_consent_state,
    sc.sms_consent_updated_at,
    es.reason as email_suppression_reason,
    es.occurred_at as email_suppressed_at,
    eg.unsubscribed_groups as email_unsubscribed_groups,
    case
        when sk.opt_action = 'stop' then 'sms_stop'
        when sk.opt_action = 'start' then null
        when sc.sms_consent_state in ('unsubscribed', 'redacted') then 'consent_withdrawn'
        when {{ sms_awaiting_confirmation() }} then 'awaiting_confirmation'
    end as sms_suppression_reason,
    case
        when sk.opt_action = 'stop' then sk.received_at
        when sk.opt_action = 'start' then null
        when sc.sms_consent_state in ('unsubscribed', 'redacted') then sc.sms_consent_updated_at
        when {{ sms_awaiting_confirmation() }} then sc.sms_consent_updated_at
    end as sms_suppressed_at,
    case when sk.opt_action = 'start' then sk.received_at end as sms_restarted_at,
    sc.sms_consent_opt_in_level,
    sc.sms_consent_collected_from,
    conf.confirmed_at as sms_confirmed_at,
    conf.confirmed_with as sms_confirmed_with,
    sk.opt_action as sms_last_keyword,
    sk.received_at as sms_last_keyword_at
from keys k
left join shopify_consent sc on sc.customer_key = k.customer_key
left join email_suppressions es on es.customer_key = k.customer_key
left join email_groups eg on eg.customer_key = k.customer_key
left join sms_keywords sk on sk.customer_key = k.customer_key
left join sms_confirmations conf on conf.customer_key = k.customer_key
