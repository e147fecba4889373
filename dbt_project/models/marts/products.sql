{#- One row per product: stock, current and previous price, sales velocity over var('sales_velocity_days').
    Stock comes from inventory levels (summed over locations) when the product has any; a store
    without level data falls back to the variants' inventory_quantity. -#}
with variants as (
    select
        product_id,
        sum(case when inventory_quantity > 0 then inventory_quantity else 0 end) as inventory_quantity,
        min(price) as current_price,
        min(previous_price) as previous_price,
        max(price_changed_at) as price_changed_at,
        max(restocked_at) as restocked_at,
        count(*) as variant_count
    from {{ ref('stg_shopify__product_variants') }}
    group by product_id
),
levels as (
    select v.product_id, sum(l.available) as available_quantity
    from {{ ref('stg_shopify__product_variants') }} v
    inner join {{ ref('stg_shopify__inventory_levels') }} l on l.inventory_item_id = v.inventory_item_id
    group by v.product_id
),
stock as (
    select
        v.product_id,
        lv.available_quantity,
        coalesce(lv.available_quantity, v.inventory_quantity, 0) as units_in_stock
    from variants v
    left join levels lv on lv.product_id = v.product_id
),
sales as (
    select
        product_id,
        sum(case when order_date > {{ as_of_minus_days(var('sales_velocity_days')) }} then net_quantity else 0 end) as units_sold_window,
        sum(net_quantity) as units_sold_total,
        sum(net_amount) as net_revenue_total,
        min(order_date) as first_sold_on,
        max(order_date) as last_sold_on
    from {{ ref('order_lines') }}
    where not is_cancelled
    group by product_id
)
select
    p.product_id,
    p.title,
    p.handle,
    p.vendor,
    p.product_type,
    p.status,
    p.tags,
    p.replenish_days,
    coalesce(p.replenish_days, 0) > 0 as is_consumable,
    p.created_at,
    coalesce(v.variant_count, 0) as variant_count,
    coalesce(v.inventory_quantity, 0) as inventory_quantity,
    st.available_quantity,
    coalesce(st.units_in_stock, 0) > 0 as in_stock,
    v.current_price,
    v.previous_price,
    v.price_changed_at,
    v.restocked_at,
    coalesce(s.units_sold_window, 0) as units_sold_window,
    {{ dbt.cast('coalesce(s.units_sold_window, 0) * 1.0 / ' ~ var('sales_velocity_days'), 'decimal(18,4)') }} as sales_velocity_per_day,
    case when coalesce(s.units_sold_window, 0) > 0
         then {{ dbt.cast('coalesce(st.units_in_stock, 0) * ' ~ var('sales_velocity_days') ~ ' * 1.0 / s.units_sold_window', 'decimal(18,1)') }}
    end as days_of_stock,
    coalesce(s.units_sold_total, 0) as units_sold_total,
    {{ dbt.cast('coalesce(s.net_revenue_total, 0)', 'decimal(18,2)') }} as net_revenue_total,
    s.first_sold_on,
    s.last_sold_on
from {{ ref('stg_shopify__products') }} p
left join variants v on v.product_id = p.product_id
left join stock st on st.product_id = p.product_id
left join sales s on s.product_id = p.product_id
