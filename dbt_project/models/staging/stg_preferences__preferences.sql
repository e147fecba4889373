with src as (
    select * from {{ source('preferences', 'preferences') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('submitted_at') }} < {{ as_of_end() }}
),
deduped as (
    {{ first_delivery("select * from src", "preference_id") }}
)
select
    preference_id,
    customer_id,
    {{ normalize_email('email') }} as email,
    email_frequency,
    {{ to_utc('submitted_at') }} as submitted_at,
    date as delivered_on
from deduped
