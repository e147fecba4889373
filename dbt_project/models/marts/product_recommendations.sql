{#- Top var('recommendation_count', 5) products per customer with at least one non-cancelled order.
    Candidates: active products in stock on as_of (products.status = 'active', inventory > 0, with a
    price), never bought by the customer (consumables included: re-buying them is the replenishment
    segment's job, not a discovery recommendation).
    1. Affinity: candidates associated (product_affinities) with a product the customer bought;
       score = the best lift over the customer's products (ties: higher confidence, then product_id).
    2. Popularity fallback: remaining slots (customers with few purchases or few associations) are
       filled with the most ordered candidates over the var('recommendation_popularity_days', 90) days
       up to as_of; score = share of those orders that contain the product.
    Affinity picks always rank above popularity picks.

    Pruned, with the same result: a customer with B products bought needs at most N + B entries of
    each list. An association ranked k-th from one of their products (by lift, confidence, product)
    has k - 1 entries above it, of which at most B were bought; the others rank above it for this
    customer too, so past rank N + B it cannot reach the top N. The same holds for the popularity
    list. Without this the work is customers x catalogue, with it customers x (N + B). -#}
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
    select customer_key, count(*) as products_bought from purchased group by customer_key
),
candidates as (
    select product_id, title, product_type, current_price
    from {{ ref('products') }}
    where status = 'active' and inventory_quantity > 0 and current_price is not null
),
associations as (
    select a.product_id, a.associated_product_id, a.lift, a.confidence,
        row_number() over (
            partition by a.product_id order by a.lift desc, a.confidence desc, a.associated_product_id
        ) as list_rank
    from {{ ref('product_affinities') }} a
    inner join candidates c on c.product_id = a.associated_product_id
),
affinity_pairs as (
    select p.customer_key, a.associated_product_id as product_id, a.lift, a.confidence,
           a.product_id as reason_product_id
    from purchased p
    inner join buyers b on b.customer_key = p.customer_key
    inner join associations a on a.product_id = p.product_id and a.list_rank <= {{ n_recs }} + b.products_bought
    left join purchased q on q.customer_key = p.customer_key and q.product_id = a.associated_product_id
    where q.product_id is null
),
affinity_picks as (
    select customer_key, product_id, lift, confidence, reason_product_id from (
        select *, row_number() over (
            partition by customer_key, product_id order by lift desc, confidence desc, reason_product_id
        ) as rn
        from affinity_pairs
    ) x where rn = 1
),
affinity_counts as (
    select customer_key, count(*) as picks from affinity_picks group by customer_key
),
recent_orders as (
    select count(distinct order_id) as n from lines
    where order_date > {{ as_of_minus_days(var('recommendation_popularity_days', 90)) }}
),
popularity as (
    select product_id, orders,
        row_number() over (order by orders desc, product_id) as list_rank
    from (
        select l.product_id, count(distinct l.order_id) as orders
        from lines l
        inner join candidates c on c.product_id = l.product_id
        where l.order_date > {{ as_of_minus_days(var('recommendation_popularity_days', 90)) }}
        group by l.product_id
    ) x
),
popular_picks as (
    select b.customer_key, p.product_id, {{ metrics_ratio('p.orders', 'r.n') }} as popularity_share
    from buyers b
    left join affinity_counts ac on ac.customer_key = b.customer_key
    inner join popularity p on p.list_rank <= {{ n_recs }} + b.products_bought
    cross join recent_orders r
    left join purchased q on q.customer_key = b.customer_key and q.product_id = p.product_id
    left join affinity_picks a on a.customer_key = b.customer_key and a.product_id = p.product_id
    where coalesce(ac.picks, 0) < {{ n_recs }} and q.product_id is null and a.product_id is null
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
