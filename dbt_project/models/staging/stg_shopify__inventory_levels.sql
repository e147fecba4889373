{#- The latest level of each inventory item at each location, as of as_of. -#}
with src as (
    select
        inventory_item_id, location_id, available,
        {{ to_utc('updated_at') }} as updated_at, date, _source_file, _record_index
    from {{ source('shopify', 'inventory_levels') }}
    where {{ delivered_by_as_of() }}
),
versions as (
    select *,
        row_number() over (
            partition by inventory_item_id, location_id
            order by updated_at desc, date desc, _source_file desc, _record_index desc
        ) as _version_rank
    from src
    where updated_at < {{ as_of_end() }}
)
select
    inventory_item_id,
    location_id,
    available,
    updated_at,
    date as delivered_on
from versions
where _version_rank = 1
