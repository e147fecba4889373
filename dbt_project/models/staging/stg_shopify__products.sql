with src as (
    select *, {{ to_utc('updated_at') }} as _updated_utc
    from {{ source('shopify', 'products') }}
    where {{ delivered_by_as_of() }}
),
latest as (
    {{ latest_version("select * from src where _updated_utc < " ~ as_of_end(), "id", "_v._updated_utc desc") }}
)
select
    id as product_id,
    title,
    handle,
    vendor,
    product_type,
    status,
    tags,
    {{ dbt.cast(retention.regex_extract('tags', 'replenish_days:([0-9]+)'), dbt.type_int()) }} as replenish_days,
    {{ to_utc('created_at') }} as created_at,
    _updated_utc as updated_at,
    {{ to_utc('published_at') }} as published_at,
    variant_count,
    date as delivered_on
from latest
