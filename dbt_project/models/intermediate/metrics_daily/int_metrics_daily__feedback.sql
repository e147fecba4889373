{#- NPS answers and reviews per UTC day. One row per day with an answer or a rated review. Review
    sentiment is VADER's on the review's title and body (review_sentiment); a review without text
    counts in reviews but in none of the sentiment figures. The average sentiment sums decimals: a sum
    of doubles changes in its last bits with the order DuckDB's threads add them in, and VADER's scores
    have four decimal places, so the decimal sum is exact. -#}
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
        avg({{ dbt.cast('rating', 'double') }}) as average_rating,
        sum(case when has_text then 1 else 0 end) as reviews_with_text,
        sum(case when sentiment = 'positive' then 1 else 0 end) as positive_reviews,
        sum(case when sentiment = 'negative' then 1 else 0 end) as negative_reviews,
        {{ dbt.cast('avg(' ~ dbt.cast('sentiment_score', 'decimal(18, 4)') ~ ')', 'double') }} as average_review_sentiment
    from {{ ref('review_sentiment') }}
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
        rd.average_rating,
        coalesce(rd.reviews_with_text, 0) as reviews_with_text,
        coalesce(rd.positive_reviews, 0) as positive_reviews,
        coalesce(rd.negative_reviews, 0) as negative_reviews,
        rd.average_review_sentiment
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
    average_rating,
    reviews_with_text,
    positive_reviews,
    negative_reviews,
    {{ metrics_ratio('positive_reviews', 'reviews_with_text') }} as positive_review_share,
    {{ metrics_ratio('negative_reviews', 'reviews_with_text') }} as negative_review_share,
    average_review_sentiment
from joined
