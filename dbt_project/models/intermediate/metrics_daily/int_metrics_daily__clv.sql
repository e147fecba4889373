{#- Predicted lifetime value of the customers active on as_of (ordered in the last metrics_churn_days
    days, as in int_metrics_daily__customers). customer_predictions is a forecast made as of as_of, so
    this has one row, the as_of day: earlier days have no forecast of their own to show. In cents, as
    in cohort_cltv: an average of doubles may differ in its last bits from one build to the next. -#}
{%- set churn_days = var('metrics_churn_days', 180) -%}
with last_orders as (
    select customer_key, max(order_date) as last_order_date
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled and customer_key is not null and order_date <= {{ as_of_date() }}
    group by customer_key
)

select
    {{ as_of_date() }} as day,
    count(*) as predicted_customers,
    {{ dbt.cast('avg(p.predicted_clv_12m)', 'decimal(18,2)') }} as average_predicted_clv_12m
from {{ ref('customer_predictions') }} as p
inner join last_orders as l on p.customer_key = l.customer_key
where l.last_order_date > {{ dbt.dateadd('day', -churn_days, as_of_date()) }}
  and p.predicted_clv_12m is not null
