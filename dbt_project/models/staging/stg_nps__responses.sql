with src as (
    select * from {{ source('nps', 'responses') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('submitted_at') }} < {{ as_of_end() }}
),
deduped as (
    {{ first_delivery("select * from src", "response_id") }}
)
select
    response_id,
    survey_id,
    customer_id,
    {{ normalize_email('email') }} as email,
    order_id,
    score,
    case when score >= 9 then 'promoter' when score >= 7 then 'passive' else 'detractor' end as nps_category,
    comment,
    {{ to_utc('submitted_at') }} as submitted_at,
    date as delivered_on
from deduped
