{#- Frequently bought together: one row per ordered pair (product_id -> associated_product_id) of
    distinct products found in the same non-cancelled order (order lines of orders created up to as_of).
    Basket = the set of distinct products of an order. Over the N baskets with at least one product:
      support    = baskets with both / N
      confidence = baskets with both / baskets with product_id        (P(associated | product))
      lift       = confidence / (baskets with associated_product_id / N)
    Both directions are rows (support and lift are symmetric, confidence is not). Pairs are kept when
    support >= var('affinity_min_support', 0.001) and baskets with both >= var('affinity_min_orders', 2). -#}
with baskets as (
    select distinct order_id, product_id
    from {{ ref('order_lines') }}
    where not is_cancelled and product_id is not null and quantity > 0
      and order_date <= {{ as_of_date() }}
),
totals as (
    select count(distinct order_id) as total_orders from baskets
),
product_orders as (
    select product_id, count(*) as orders_with_product from baskets group by product_id
),
pairs as (
    select a.product_id, b.product_id as associated_product_id, count(*) as orders_with_both
    from baskets a
    inner join baskets b on b.order_id = a.order_id and b.product_id <> a.product_id
    group by a.product_id, b.product_id
),
scored as (
    select
        p.product_id,
        p.associated_product_id,
        pa.orders_with_product,
        pb.orders_with_product as orders_with_associated_product,
        p.orders_with_both,
        t.total_orders,
        {{ metrics_ratio('p.orders_with_both', 't.total_orders') }} as support,
        {{ metrics_ratio('p.orders_with_both', 'pa.orders_with_product') }} as confidence,
        {{ metrics_ratio('p.orders_with_both * t.total_orders', 'pa.orders_with_product * pb.orders_with_product') }} as lift
    from pairs p
    cross join totals t
    inner join product_orders pa on pa.product_id = p.product_id
    inner join product_orders pb on pb.product_id = p.associated_product_id
)
select
    {{ dbt.concat(["cast(s.product_id as " ~ dbt.type_string() ~ ")", "'>'", "cast(s.associated_product_id as " ~ dbt.type_string() ~ ")"]) }} as product_pair_key,
    s.product_id,
    pp.title as product_title,
    s.associated_product_id,
    ap.title as associated_product_title,
    s.orders_with_product,
    s.orders_with_associated_product,
    s.orders_with_both,
    s.total_orders,
    s.support,
    s.confidence,
    s.lift,
    {{ as_of_date() }} as as_of
from scored s
left join {{ ref('stg_shopify__products') }} pp on pp.product_id = s.product_id
left join {{ ref('stg_shopify__products') }} ap on ap.product_id = s.associated_product_id
where s.support >= {{ var('affinity_min_support', 0.001) }}
  and s.orders_with_both >= {{ var('affinity_min_orders', 2) }}
