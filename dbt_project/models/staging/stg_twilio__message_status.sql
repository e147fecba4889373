with src as (
    select * from {{ source('twilio', 'message_status') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('received_at') }} < {{ as_of_end() }}
),
deduped as (
    {{ first_delivery("select * from src", "message_sid, status") }}
)
select
    message_sid || '-' || status as status_event_id,
    message_sid,
    status,
    error_code,
    {{ normalize_phone('"from"') }} as from_phone,
    {{ normalize_phone('"to"') }} as to_phone,
    {{ to_utc('received_at') }} as received_at,
    date as delivered_on
from deduped
