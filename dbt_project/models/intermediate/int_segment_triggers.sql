{#- Event-driven segments as of as_of: one row per customer_key and segment, with the product /
    order / checkout that triggered it (the most recent when several do). -#}
with ids as (select * from {{ ref('int_identity') }}),
orders as (select * from {{ ref('int_orders_enriched') }} where not is_cancelled),
customers as (select * from {{ ref('customers') }}),
checkouts as ({{ checkouts_with_customer_key() }}),
abandoned_cart as (
    select c.customer_key, 'abandoned_cart' as segment, max(c.created_at) as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, max(c.checkout_id) as reference_id
    from checkouts c
    where c.customer_key is not null
      and c.completed_at is null
      and c.created_at >= {{ dbt.dateadd('hour', -1 * var('abandoned_cart_window_hours'), as_of_end()) }}
      and not exists (select 1 from orders o where o.customer_key = c.customer_key and o.created_at >= c.created_at)
    group by c.customer_key
),
web as (
    select i.customer_key, w.*
    from {{ ref('stg_web__events') }} w
    inner join ids i on i.identifier_type = 'shopify_customer_id' and i.identifier_value = cast(w.customer_id as {{ dbt.type_string() }})
    where w.product_id is not null and w.event_type in ('product_view', 'add_to_cart')
),
browse_abandonment as (
    select w.customer_key, 'browse_abandonment' as segment, max(w.occurred_at) as triggered_at,
           max(w.product_id) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from web w
    where w.occurred_at >= {{ dbt.dateadd('hour', -1 * var('browse_abandonment_window_hours'), as_of_end()) }}
      and not exists (select 1 from orders o where o.customer_key = w.customer_key and o.created_at >= w.occurred_at)
      and not exists (select 1 from abandoned_cart a where a.customer_key = w.customer_key)
    group by w.customer_key
),
win_back as (
    select customer_key, 'win_back' as segment, cast(last_order_date as {{ dbt.type_timestamp() }}) as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from customers
    where order_count >= 1
      and days_since_last_order > {{ var('win_back_min_days') }}
      and days_since_last_order > {{ var('win_back_gap_multiplier') }} * coalesce(avg_days_between_orders, {{ var('win_back_default_gap_days') }})
      -- overdue, and the model agrees they are slipping (or could not say)
      and coalesce(churn_risk, 'unknown') <> 'low'
),
high_value_at_risk as (
    select customer_key, 'high_value_at_risk' as segment, cast(last_order_date as {{ dbt.type_timestamp() }}) as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from customers
    where predicted_clv_percentile >= {{ var('high_value_min_clv_percentile') }}
      and p_alive < {{ var('high_value_at_risk_p_alive_below') }}
      and p_alive_previous - p_alive >= {{ var('high_value_at_risk_min_drop') }}
),
week as (
    {% for k in range(7) -%}
    select {{ k }} as day_offset, {{ dbt.cast(dbt.dateadd('day', k, as_of_date()), 'date') }} as day {{ 'union all' if not loop.last }}
    {% endfor %}
),
birthday_this_week as (
    select c.customer_key, 'birthday_this_week' as segment, cast(min(w.day) as {{ dbt.type_timestamp() }}) as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from customers c
    inner join week w on extract(month from w.day) = c.birthday_month and extract(day from w.day) = c.birthday_day
    group by c.customer_key
),
anniversary_this_week as (
    select c.customer_key, 'anniversary_this_week' as segment, cast(min(w.day) as {{ dbt.type_timestamp() }}) as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from customers c
    inner join week w on {{ month_day('w.day') }} = {{ month_day('c.first_purchase_anniversary') }}
        and extract(year from w.day) > extract(year from c.first_purchase_anniversary)
    group by c.customer_key
),
post_purchase as (
    select customer_key, 'post_purchase_thank_you' as segment, max(created_at) as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, max(order_id) as reference_id
    from orders
    where order_date > {{ as_of_minus_days(var('post_purchase_days')) }}
    group by customer_key
),
reviews as (
    select r.order_id, r.product_id from {{ ref('stg_reviews__reviews') }} r
),
review_request as (
    select o.customer_key, 'review_request' as segment, max(o.delivered_at) as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, max(o.order_id) as reference_id
    from orders o
    where o.delivered_at is not null
      and {{ dbt.cast('o.delivered_at', 'date') }} <= {{ as_of_minus_days(var('review_request_days_after_delivery')) }}
      and {{ dbt.cast('o.delivered_at', 'date') }} > {{ as_of_minus_days(var('review_request_days_after_delivery') + var('review_request_window_days')) }}
      and not exists (select 1 from reviews r where r.order_id = o.order_id)
    group by o.customer_key
),
consumable_purchases as (
    select l.customer_key, l.product_id, p.replenish_days, max(l.order_date) as last_bought_on
    from {{ ref('order_lines') }} l
    inner join {{ ref('products') }} p on p.product_id = l.product_id and p.is_consumable
    where not l.is_cancelled and l.net_quantity > 0
    group by l.customer_key, l.product_id, p.replenish_days
),
replenishment_due as (
    select customer_key, 'replenishment_due' as segment,
           cast(max({{ dbt.dateadd('day', 'replenish_days', 'last_bought_on') }}) as {{ dbt.type_timestamp() }}) as triggered_at,
           max(product_id) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from consumable_purchases
    where {{ dbt.datediff('last_bought_on', as_of_date(), 'day') }} >= replenish_days - {{ var('replenishment_lead_days') }}
      and {{ dbt.datediff('last_bought_on', as_of_date(), 'day') }} <= replenish_days + {{ var('replenishment_grace_days') }}
    group by customer_key
),
interest as (
    -- products a person viewed or carted recently and has not bought since
    select w.customer_key, w.product_id, max(w.occurred_at) as last_interest_at
    from web w
    where w.occurred_at >= {{ dbt.dateadd('day', -1 * var('product_interest_days'), as_of_end()) }}
    group by w.customer_key, w.product_id
),
interest_open as (
    select i.* from interest i
    where not exists (
        select 1 from {{ ref('order_lines') }} l
        where l.customer_key = i.customer_key and l.product_id = i.product_id and l.order_created_at >= i.last_interest_at)
),
back_in_stock as (
    select i.customer_key, 'back_in_stock' as segment, max(p.restocked_at) as triggered_at,
           max(p.product_id) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from interest_open i
    inner join {{ ref('products') }} p on p.product_id = i.product_id
    where p.in_stock and p.restocked_at >= {{ dbt.dateadd('day', -1 * var('back_in_stock_window_days'), as_of_end()) }}
    group by i.customer_key
),
price_drop as (
    select i.customer_key, 'price_drop' as segment, max(p.price_changed_at) as triggered_at,
           max(p.product_id) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from interest_open i
    inner join {{ ref('products') }} p on p.product_id = i.product_id
    where p.previous_price is not null and p.current_price < p.previous_price
      and p.price_changed_at >= {{ dbt.dateadd('day', -1 * var('price_drop_window_days'), as_of_end()) }}
    group by i.customer_key
),
nps_segments as (
    select customer_key,
        case latest_nps_category when 'detractor' then 'nps_detractor_followup' else 'nps_promoter_referral' end as segment,
        latest_nps_at as triggered_at,
        cast(null as {{ dbt.type_bigint() }}) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from customers
    where latest_nps_category in ('detractor', 'promoter')
      and latest_nps_at >= {{ dbt.dateadd('day', -1 * var('nps_followup_days'), as_of_end()) }}
),
tier_upgrade as (
    select customer_key, 'tier_upgrade' as segment, cast(loyalty_tier_reached_on as {{ dbt.type_timestamp() }}) as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, cast(null as {{ dbt.type_bigint() }}) as reference_id
    from customers
    where loyalty_tier in ('silver', 'gold', 'platinum')
      and loyalty_tier_reached_on > {{ as_of_minus_days(var('tier_upgrade_window_days')) }}
)
select * from abandoned_cart
union all select * from browse_abandonment
union all select * from win_back
union all select * from high_value_at_risk
union all select * from birthday_this_week
union all select * from anniversary_this_week
union all select * from post_purchase
union all select * from review_request
union all select * from replenishment_due
union all select * from back_in_stock
union all select * from price_drop
union all select * from nps_segments
union all select * from tier_upgrade
