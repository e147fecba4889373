with src as (
    select * from {{ source('reviews', 'reviews') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('created_at') }} < {{ as_of_end() }}
),
deduped as (
    {{ first_delivery("select * from src", "review_id") }}
)
select
    review_id,
    product_id,
    customer_id,
    {{ normalize_email('email') }} as email,
    order_id,
    rating,
    title,
    body,
    verified_buyer,
    {{ to_utc('created_at') }} as created_at,
    date as delivered_on
from deduped
