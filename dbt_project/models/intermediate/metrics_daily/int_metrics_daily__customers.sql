{#- Customer counts to date, one row per UTC day from the first order up to as_of. Orders as in
    int_metrics_daily__orders (customers only: orders with a customer_key).
    var('metrics_churn_days', 180): a customer is active on day d if they ordered in (d - N, d]. -#}
{%- set churn_days = var('metrics_churn_days', 180) -%}
with orders as (
    select order_id, customer_key, order_date
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled and order_date <= {{ as_of_date() }} and customer_key is not null
),

-- nth order of each customer (ties on a day broken by order_id): the 2nd order makes a repeat customer
ranked_orders as (
    select
        order_date,
        row_number() over (partition by customer_key order by order_date, order_id) as customer_order_number
    from orders
),

buyer_days as (
    select
        order_date as day,
        sum(case when customer_order_number = 1 then 1 else 0 end) as first_time_buyers,
        sum(case when customer_order_number = 2 then 1 else 0 end) as second_time_buyers,
        count(*) as customer_orders
    from ranked_orders
    group by order_date
),

-- active spells: an order keeps its customer active for N days, until the next order restarts the clock
next_orders as (
    select
        order_date,
        lead(order_date) over (partition by customer_key order by order_date, order_id) as next_order_date
    from orders
),

spells as (
    select
        order_date as spell_start,
        case
            when next_order_date is not null
                and next_order_date <= {{ dbt.dateadd('day', churn_days, 'order_date') }}
                then next_order_date
            else {{ dbt.cast(dbt.dateadd('day', churn_days, 'order_date'), 'date') }}
        end as spell_end_exclusive
    from next_orders
),

spell_deltas as (
    select spell_start as day, 1 as delta from spells
    union all
    select {{ dbt.cast('spell_end_exclusive', 'date') }} as day, -1 as delta from spells
),

active_changes as (
    select day, sum(delta) as delta
    from spell_deltas
    group by day
),

spine as (
    {{ metrics_day_spine('(select min(order_date) from orders)') }}
),

to_date as (
    select
        s.day,
        sum(coalesce(bd.first_time_buyers, 0)) over (order by s.day rows between unbounded preceding and current row) as customers_to_date,
        sum(coalesce(bd.second_time_buyers, 0)) over (order by s.day rows between unbounded preceding and current row) as repeat_customers_to_date,
        sum(coalesce(bd.customer_orders, 0)) over (order by s.day rows between unbounded preceding and current row) as orders_to_date,
        sum(coalesce(ac.delta, 0)) over (order by s.day rows between unbounded preceding and current row) as active_customers
    from spine as s
    left join buyer_days as bd on s.day = bd.day
    left join active_changes as ac on s.day = ac.day
)

select
    day,
    customers_to_date,
    repeat_customers_to_date,
    {{ metrics_ratio('repeat_customers_to_date', 'customers_to_date') }} as repeat_purchase_rate,
    {{ metrics_ratio('orders_to_date', 'customers_to_date') }} as purchase_frequency,
    active_customers,
    customers_to_date - active_customers as churned_customers,
    {{ metrics_ratio('customers_to_date - active_customers', 'customers_to_date') }} as churn_rate
from to_date
