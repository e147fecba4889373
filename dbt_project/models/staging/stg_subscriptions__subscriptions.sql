with src as (
    select * from {{ source('subscriptions', 'subscriptions') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('created_at') }} < {{ as_of_end() }}
),

latest as (
    {{ latest_version("select * from src", "subscription_id", "_v.date desc") }}
)

select
    subscription_id,
    customer_id,
    {{ normalize_email('email') }} as email,
    product_id,
    variant_id,
    kind,
    {{ to_utc('created_at') }} as created_at,
    case when {{ to_utc('cancelled_at') }} < {{ as_of_end() }} then {{ to_utc('cancelled_at') }} end as cancelled_at,
    date as delivered_on
from latest
