{#- Inbound SMS. opt_action: 'stop' (Twilio opt_out_type STOP / keyword_action opt_out),
    'start' (START / opt_in), 'help', 'confirm' (the reply YES or Y to a double opt-in request),
    else null. -#}
with src as (
    select * from {{ source('twilio', 'inbound_messages') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('received_at') }} < {{ as_of_end() }}
),
deduped as (
    {{ first_delivery("select * from src", "message_sid") }}
)
select
    message_sid,
    {{ normalize_phone(adapter.quote('from')) }} as from_phone,
    {{ normalize_phone(adapter.quote('to')) }} as to_phone,
    body,
    upper(opt_out_type) as opt_out_type,
    keyword,
    keyword_action,
    case
        when upper(opt_out_type) = 'STOP' or lower(keyword_action) = 'opt_out' then 'stop'
        when upper(opt_out_type) = 'START' or lower(keyword_action) = 'opt_in' then 'start'
        when upper(opt_out_type) = 'HELP' or lower(keyword_action) = 'help' then 'help'
        when upper(trim(body)) in ('YES', 'Y') then 'confirm'
    end as opt_action,
    {{ to_utc('received_at') }} as received_at,
    date as delivered_on
from deduped
