{#- Top var('recommendation_count', 5) products per customer with at least one non-cancelled order.
    Candidates: active products in stock on as_of (products.status = 'active', inventory > 0, with a
    price), never bought by the customer (consumables included: re-buying them is the replenishment
    segment's job, not a discovery recommendation).
    1. Affinity: candidates associated (product_affinities) with a product the customer bought;
       score = the best lift over the customer's products (ties: higher confidence, then product_id).
    2. Popularity fallback: remaining slots (customers with few purchases or few associations) are
       filled with the most ordered candidates over the var('recommendation_popularity_days', 90) days
       up to as_of; score = share of those orders that contain the product.
    Affinity picks always rank above popularity picks. -#}
{%- set n_recs = var('recommendation_count', 5) -%}
with lines as (
    select customer_key, order_id, order_date, product_id
    from {{ ref('order_lines') }}
    where not is_cancelled and customer_key is not null and product_id is not null
      and order_date <= {{ as_of_date() }}
),
purchased as (
    select distinct customer_key, product_id from lines
),
buyers as (
    select distinct customer_key from lines
),
candidates as (
    select product_id, title, product_type, current_price
    from {{ ref('products') }}
    where status = 'active' and inventory_quantity > 0 and current_price is not null
),
affinity_picks as (
    select customer_key, product_id, lift, confidence, reason_product_id from (
        select
            p.customer_key,
            a.associated_product_id as product_id,
            a.lift,
            a.confidence,
            a.product_id as reason_product_id,
            row_number() over (
                partition by p.customer_key, a.associated_product_id
                order by a.lift desc, a.confidence desc, a.product_id
            ) as rn
        from purchased p
        inner join {{ ref('product_affinities') }} a on a.product_id = p.product_id
        inner join candidates c on c.product_id = a.associated_product_id
        where not exists (
            select 1 from purchased q where q.customer_key = p.customer_key and q.product_id = a.associated_product_id
        )
    ) x where rn = 1
),
recent_orders as (
    select count(distinct order_id) as n from lines
    where order_date > {{ as_of_minus_days(var('recommendation_popularity_days', 90)) }}
),
popularity as (
    select l.product_id, count(distinct l.order_id) as orders
    from lines l
    inner join candidates c on c.product_id = l.product_id
    where l.order_date > {{ as_of_minus_days(var('recommendation_popularity_days', 90)) }}
    group by l.product_id
),
popular_picks as (
    select b.customer_key, p.product_id, {{ metrics_ratio('p.orders', 'r.n') }} as popularity_share
    from buyers b
    cross join popularity p
    cross join recent_orders r
    where not exists (select 1 from purchased q where q.customer_key = b.customer_key and q.product_id = p.product_id)
      and not exists (select 1 from affinity_picks a where a.customer_key = b.customer_key and a.product_id = p.product_id)
),
all_picks as (
    select customer_key, product_id, 1 as priority, lift as score, confidence as tiebreak,
           'bought_together' as reason, reason_product_id
    from affinity_picks
    union all
    select customer_key, product_id, 2 as priority, popularity_share as score, popularity_share as tiebreak,
           'popular' as reason, cast(null as {{ dbt.type_bigint() }}) as reason_product_id
    from popular_picks
),
ranked as (
    select a.*,
        row_number() over (
            partition by a.customer_key
            order by a.priority, a.score desc, a.tiebreak desc, a.product_id
        ) as recommendation_rank
    from all_picks a
)
select
    {{ dbt.concat(["r.customer_key", "'#'", "cast(r.recommendation_rank as " ~ dbt.type_string() ~ ")"]) }} as recommendation_key,
    r.customer_key,
    r.recommendation_rank,
    r.product_id,
    c.title,
    c.product_type,
    c.current_price as price,
    r.score,
    r.reason,
    r.reason_product_id,
    {{ as_of_date() }} as as_of
from ranked r
inner join candidates c on c.product_id = r.product_id
where r.recommendation_rank <= {{ n_recs }}
