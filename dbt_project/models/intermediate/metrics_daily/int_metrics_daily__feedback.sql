{#- NPS answers and reviews per UTC day. One row per day with an answer or a rated review. -#}
with nps_days as (
    select
        {{ metrics_day('submitted_at') }} as day,
        count(*) as nps_responses,
        sum(case when nps_category = 'promoter' then 1 else 0 end) as nps_promoters,
        sum(case when nps_category = 'detractor' then 1 else 0 end) as nps_detractors
    from {{ ref('stg_nps__responses') }}
    group by {{ metrics_day('submitted_at') }}
),

review_days as (
    select
        {{ metrics_day('created_at') }} as day,
        count(*) as reviews,
        avg({{ dbt.cast('rating', 'double') }}) as average_rating
    from {{ ref('stg_reviews__reviews') }}
    where rating is not null
    group by {{ metrics_day('created_at') }}
),

joined as (
    select
        coalesce(nd.day, rd.day) as day,
        coalesce(nd.nps_responses, 0) as nps_responses,
        coalesce(nd.nps_promoters, 0) as nps_promoters,
        coalesce(nd.nps_detractors, 0) as nps_detractors,
        coalesce(rd.reviews, 0) as reviews,
        rd.average_rating
    from nps_days as nd
    full outer join review_days as rd on nd.day = rd.day
)

select
    day,
    nps_responses,
    nps_promoters,
    nps_detractors,
    100.0 * {{ metrics_ratio('nps_promoters - nps_detractors', 'nps_responses') }} as nps,
    reviews,
    average_rating
from joined
