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
    list. Without this the work is customers x catalogue, with it customers x (N + B).

    Shaped for a million customers: the pairs carry integers only (a buyer number for the 32-character
    customer key, one global pick order for the affinity ordering), so the best reason per candidate
    is a min() and a customer's top N a top-N aggregate, not two sorts of every pair. The pick order
    ranks associations by lift desc, confidence desc, associated product, product: within one
    candidate that is the reason's order, and across candidates the recommendation order. -#}
{%- set n_recs = var('recommendation_count', 5) -%}
with lines as (
    select customer_key, order_id, order_date, product_id
    from {{ ref('order_lines') }}
    where not is_cancelled and customer_key is not null and product_id is not null
      and order_date <= {{ as_of_date() }}
),
purchased_by_key as (
    select distinct customer_key, product_id from lines
),
buyers as (
    select customer_key, count(*) as products_bought,
        row_number() over (order by customer_key) as buyer_id
    from purchased_by_key
    group by customer_key
),
purchased as (
    select b.buyer_id, p.product_id, b.products_bought
    from purchased_by_key p
    inner join buyers b on b.customer_key = p.customer_key
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
        ) as list_rank,
        row_number() over (
            order by a.lift desc, a.confidence desc, a.associated_product_id, a.product_id
        ) as pick_order
    from {{ ref('product_affinities') }} a
    inner join candidates c on c.product_id = a.associated_product_id
),
affinity_best as (
    select p.buyer_id, a.associated_product_id as product_id, min(a.pick_order) as pick_order
    from purchased p
    inner join associations a on a.product_id = p.product_id and a.list_rank <= {{ n_recs }} + p.products_bought
    left join purchased q on q.buyer_id = p.buyer_id and q.product_id = a.associated_product_id
    where q.product_id is null
    group by p.buyer_id, a.associated_product_id
),
affinity_top as (
    {{ smallest_per_group('affinity_best', 'buyer_id', 'pick_order', n_recs, 'recommendation_rank') }}
),
affinity_picks as (
    select t.buyer_id, t.recommendation_rank, a.associated_product_id as product_id, a.lift as score,
           'bought_together' as reason, a.product_id as reason_product_id
    from affinity_top t
    inner join associations a on a.pick_order = t.pick_order
),
affinity_counts as (
    select buyer_id, count(*) as picks from affinity_top group by buyer_id
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
{#- The popularity list's order (orders desc, product) is the popular picks' order (share desc,
    product), so a pick's rank follows the affinity picks. A subquery, not QUALIFY: DuckDB 2.0
    returned no rows for this QUALIFY over the anti-joins. -#}
popular_picks as (
    select * from (
        select b.buyer_id,
            coalesce(ac.picks, 0) + row_number() over (partition by b.buyer_id order by p.list_rank)
                as recommendation_rank,
            p.product_id,
            {{ metrics_ratio('p.orders', 'r.n') }} as score,
            'popular' as reason,
            cast(null as {{ dbt.type_bigint() }}) as reason_product_id
        from buyers b
        left join affinity_counts ac on ac.buyer_id = b.buyer_id
        inner join popularity p on p.list_rank <= {{ n_recs }} + b.products_bought
        cross join recent_orders r
        left join purchased q on q.buyer_id = b.buyer_id and q.product_id = p.product_id
        left join affinity_picks a on a.buyer_id = b.buyer_id and a.product_id = p.product_id
        where coalesce(ac.picks, 0) < {{ n_recs }} and q.product_id is null and a.product_id is null
    ) x
    where recommendation_rank <= {{ n_recs }}
),
picks as (
    select * from affinity_picks
    union all
    select * from popular_picks
)
select
    {{ dbt.concat(["b.customer_key", "'#'", "cast(r.recommendation_rank as " ~ dbt.type_string() ~ ")"]) }} as recommendation_key,
    b.customer_key,
    r.recommendation_rank,
    r.product_id,
    c.title,
    c.product_type,
    c.current_price as price,
    r.score,
    r.reason,
    r.reason_product_id,
    {{ as_of_date() }} as as_of
from picks r
inner join buyers b on b.buyer_id = r.buyer_id
inner join candidates c on c.product_id = r.product_id
