{#- Lifetime value per monthly acquisition cohort (the month of a customer's first non-cancelled order,
    as in retention_cohorts), as of as_of: realised revenue per customer within 30, 90, 180 and 365
    days of the first order (the first order's day is day 0, so "within 30 days" is days 0-29; order
    revenue net of refunds dated up to as_of), and the predicted 12-month CLV (customer_predictions).
    A window counts only the customers whose window has closed by as_of (customers_Nd), so a young
    cohort's 365-day figure is null rather than a partial year. -#}
{%- set windows = [30, 90, 180, 365] -%}
with orders as (
    select customer_key, order_date, net_revenue
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled and customer_key is not null and order_date <= {{ as_of_date() }}
),

firsts as (
    select customer_key, min(order_date) as first_order_date
    from orders
    group by customer_key
),

per_customer as (
    select
        f.customer_key,
        {{ dbt.cast(dbt.date_trunc('month', 'f.first_order_date'), 'date') }} as cohort_month,
        {{ dbt.datediff('f.first_order_date', as_of_date(), 'day') }} as days_known,
        sum(o.net_revenue) as revenue_to_date,
        {%- for n in windows %}
        sum(case when {{ dbt.datediff('f.first_order_date', 'o.order_date', 'day') }} < {{ n }}
            then o.net_revenue else 0 end) as revenue_{{ n }}d{{ ',' if not loop.last }}
        {%- endfor %}
    from firsts as f
    inner join orders as o on f.customer_key = o.customer_key
    group by f.customer_key, f.first_order_date
)

select
    c.cohort_month,
    count(*) as cohort_size,
    {{ money_ratio('sum(c.revenue_to_date)', 'count(*)') }} as realised_revenue_per_customer,
    {%- for n in windows %}
    sum(case when c.days_known >= {{ n - 1 }} then 1 else 0 end) as customers_{{ n }}d,
    {{ dbt.cast(metrics_ratio(
        'sum(case when c.days_known >= ' ~ (n - 1) ~ ' then c.revenue_' ~ n ~ 'd else 0 end)',
        'sum(case when c.days_known >= ' ~ (n - 1) ~ ' then 1 else 0 end)'
    ), 'decimal(18,2)') }} as revenue_per_customer_{{ n }}d,
    {%- endfor %}
    {{ dbt.cast('avg(p.predicted_clv_12m)', 'decimal(18,2)') }} as predicted_clv_12m_per_customer,
    {{ as_of_date() }} as as_of
from per_customer as c
left join {{ ref('customer_predictions') }} as p on c.customer_key = p.customer_key
group by c.cohort_month
