{#- SMS per UTC day: Twilio messages dated by their first status callback, and STOP replies. One row
    per day with a message or a STOP. -#}
with messages as (
    select
        message_sid,
        min(received_at) as first_status_at,
        max(case when status = 'delivered' then 1 else 0 end) as is_delivered
    from {{ ref('stg_twilio__message_status') }}
    group by message_sid
),

message_days as (
    select
        {{ metrics_day('first_status_at') }} as day,
        count(*) as sms_sent,
        sum(is_delivered) as sms_delivered
    from messages
    group by {{ metrics_day('first_status_at') }}
),

stop_days as (
    select
        {{ metrics_day('received_at') }} as day,
        count(*) as sms_opt_outs
    from {{ ref('stg_twilio__inbound_messages') }}
    where opt_action = 'stop'
    group by {{ metrics_day('received_at') }}
),

joined as (
    select
        coalesce(md.day, sd.day) as day,
        coalesce(md.sms_sent, 0) as sms_sent,
        coalesce(md.sms_delivered, 0) as sms_delivered,
        coalesce(sd.sms_opt_outs, 0) as sms_opt_outs
    from message_days as md
    full outer join stop_days as sd on md.day = sd.day
)

select
    day,
    sms_sent,
    sms_delivered,
    sms_opt_outs,
    {{ metrics_ratio('sms_delivered', 'sms_sent') }} as sms_delivery_rate,
    {{ metrics_ratio('sms_opt_outs', 'sms_delivered') }} as sms_opt_out_rate
from joined
