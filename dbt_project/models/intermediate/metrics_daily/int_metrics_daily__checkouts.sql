{#- Abandoned checkouts per UTC day of creation. The landing zone holds only abandoned checkouts;
    completed_at (<= as_of) marks a recovered one. One row per day with a checkout. -#}
select
    {{ metrics_day('created_at') }} as day,
    count(*) as checkouts_abandoned,
    sum(case when completed_at is not null then 1 else 0 end) as checkouts_recovered,
    {{ metrics_ratio('sum(case when completed_at is not null then 1 else 0 end)', 'count(*)') }} as cart_recovery_rate
from {{ ref('stg_shopify__checkouts') }}
group by {{ metrics_day('created_at') }}
