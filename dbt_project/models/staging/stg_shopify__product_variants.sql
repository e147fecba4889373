{#- Latest version of each variant, plus the price it had in the version before (previous_price). -#}
with src as (
    select
        id, product_id, title, sku, price, compare_at_price, inventory_quantity, inventory_item_id, inventory_policy,
        {{ to_utc('product_updated_at') }} as _version_at, date, _source_file, _record_index
    from {{ source('shopify', 'product_variants') }}
    where {{ delivered_by_as_of() }}
),
versions as (
    select *,
        row_number() over (partition by id order by _version_at desc, date desc, _source_file desc, _record_index desc) as _version_rank
    from src
    where _version_at < {{ as_of_end() }}
),
price_changes as (
    -- the most recent earlier version whose price differs from the current one
    select v.id, max(v._version_at) as previous_price_until
    from versions v
    inner join versions cur on cur.id = v.id and cur._version_rank = 1
    where v._version_rank > 1 and v.price <> cur.price
    group by v.id
),
previous_price as (
    select v.id, max(v.price) as previous_price, pc.previous_price_until
    from versions v
    inner join price_changes pc on pc.id = v.id and v._version_at = pc.previous_price_until
    group by v.id, pc.previous_price_until
),
changes as (
    select
        cur.id,
        min(case when v._version_at > pp.previous_price_until then v._version_at end) as price_changed_at,
        max(case when v.inventory_quantity <= 0 then v._version_at end) as last_out_of_stock_at
    from versions cur
    inner join versions v on v.id = cur.id
    left join previous_price pp on pp.id = cur.id
    where cur._version_rank = 1
    group by cur.id
),
restock as (
    select v.id, min(v._version_at) as restocked_at
    from versions v
    inner join changes c on c.id = v.id
    where c.last_out_of_stock_at is not null and v._version_at > c.last_out_of_stock_at
    group by v.id
)
select
    cur.id as variant_id,
    cur.product_id,
    cur.title as variant_title,
    cur.sku,
    {{ dbt.cast('cur.price', 'decimal(18,2)') }} as price,
    {{ dbt.cast('cur.compare_at_price', 'decimal(18,2)') }} as compare_at_price,
    {{ dbt.cast('pp.previous_price', 'decimal(18,2)') }} as previous_price,
    ch.price_changed_at,
    ch.last_out_of_stock_at,
    case when cur.inventory_quantity > 0 then rs.restocked_at end as restocked_at,
    cur.inventory_quantity,
    cur.inventory_item_id,
    cur.inventory_policy,
    cur._version_at as updated_at,
    cur.date as delivered_on
from versions cur
left join previous_price pp on pp.id = cur.id
left join changes ch on ch.id = cur.id
left join restock rs on rs.id = cur.id
where cur._version_rank = 1
