{#- Order facts and R/F/M scores per customer_key with at least one (non-cancelled) order.
    Scores: 1 + floor(5 * (rank - 1) / n) over customers with orders, with rank() so that equal values
    share a score (ties deterministic); R ranks recency descending (most recent = 5), F and M ascending.
    Segment: the R x F grid (see DECISIONS.md). -#}
with orders as (
    select * from {{ ref('int_orders_enriched') }} where not is_cancelled
),
agg as (
    select
        customer_key,
        count(*) as order_count,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        sum(gross_revenue) as gross_revenue,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_key
),
facts as (
    select
        a.*,
        {{ dbt.datediff('a.last_order_date', as_of_date(), 'day') }} as days_since_last_order,
        case when a.order_count > 1
             then {{ dbt.datediff('a.first_order_date', 'a.last_order_date', 'day') }} * 1.0 / (a.order_count - 1)
        end as avg_days_between_orders
    from agg a
),
scored as (
    select
        f.*,
        1 + floor(5.0 * (rank() over (order by days_since_last_order desc) - 1) / count(*) over ()) as recency_score,
        1 + floor(5.0 * (rank() over (order by order_count) - 1) / count(*) over ()) as frequency_score,
        1 + floor(5.0 * (rank() over (order by net_revenue) - 1) / count(*) over ()) as monetary_score
    from facts f
)
select
    customer_key, order_count, first_order_date, last_order_date, gross_revenue, net_revenue,
    days_since_last_order, avg_days_between_orders,
    {{ dbt.cast('recency_score', dbt.type_int()) }} as recency_score,
    {{ dbt.cast('frequency_score', dbt.type_int()) }} as frequency_score,
    {{ dbt.cast('monetary_score', dbt.type_int()) }} as monetary_score,
    {{ rfm_segment('recency_score', 'frequency_score') }} as rfm_segment
from scored
