{#- Monthly acquisition cohorts: customers by the month of their first non-cancelled order (UTC order
    date), followed month by month (month 0 = the first-purchase month) up to the month of as_of.
    Every cohort has a row for every month from 0 to the as_of month, with zeros when nobody ordered.
    Revenue is order revenue net of refunds dated up to as_of, counted in the month of the order. -#}
with orders as (
    select customer_key, order_date, gross_revenue, net_revenue
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled and customer_key is not null and order_date <= {{ as_of_date() }}
),
firsts as (
    select customer_key, {{ dbt.cast(dbt.date_trunc('month', 'min(order_date)'), 'date') }} as cohort_month
    from orders group by customer_key
),
cohorts as (
    select cohort_month, count(*) as cohort_size from firsts group by cohort_month
),
activity as (
    select
        f.cohort_month,
        {{ dbt.datediff('f.cohort_month', dbt.cast(dbt.date_trunc('month', 'o.order_date'), 'date'), 'month') }} as months_since_first_purchase,
        count(distinct o.customer_key) as active_customers,
        count(*) as orders,
        sum(o.gross_revenue) as gross_revenue,
        sum(o.net_revenue) as net_revenue
    from orders o
    inner join firsts f on f.customer_key = o.customer_key
    group by 1, 2
),
grid as (
    select c.cohort_month, c.cohort_size, i.n as months_since_first_purchase
    from cohorts c
    cross join ({{ metrics_integers(3) }}) i
    where i.n <= {{ dbt.datediff('c.cohort_month', dbt.cast(dbt.date_trunc('month', as_of_date()), 'date'), 'month') }}
),
filled as (
    select
        g.cohort_month,
        g.months_since_first_purchase,
        g.cohort_size,
        coalesce(a.active_customers, 0) as active_customers,
        coalesce(a.orders, 0) as orders,
        coalesce(a.gross_revenue, 0) as gross_revenue,
        coalesce(a.net_revenue, 0) as net_revenue
    from grid g
    left join activity a
        on a.cohort_month = g.cohort_month and a.months_since_first_purchase = g.months_since_first_purchase
)
select
    {{ dbt.concat(["cast(cohort_month as " ~ dbt.type_string() ~ ")", "'+'", "cast(months_since_first_purchase as " ~ dbt.type_string() ~ ")"]) }} as cohort_period_key,
    cohort_month,
    months_since_first_purchase,
    {{ dbt.cast(dbt.dateadd('month', 'months_since_first_purchase', 'cohort_month'), 'date') }} as activity_month,
    cohort_size,
    active_customers,
    {{ metrics_ratio('active_customers', 'cohort_size') }} as retention_rate,
    orders,
    {{ dbt.cast('gross_revenue', 'decimal(18,2)') }} as gross_revenue,
    {{ dbt.cast('net_revenue', 'decimal(18,2)') }} as net_revenue,
    {{ dbt.cast('sum(net_revenue) over (partition by cohort_month order by months_since_first_purchase rows between unbounded preceding and current row)', 'decimal(18,2)') }} as cumulative_net_revenue,
    {{ dbt.cast('sum(net_revenue) over (partition by cohort_month order by months_since_first_purchase rows between unbounded preceding and current row) * 1.0 / cohort_size', 'decimal(18,2)') }} as cumulative_net_revenue_per_customer,
    {{ as_of_date() }} as as_of
from filled
