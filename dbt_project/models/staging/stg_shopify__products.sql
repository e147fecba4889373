{{ config(
    materialized=delivery_materialization(),
    unique_key='product_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{% set new_rows %}
with src as (
    select *, {{ to_utc('updated_at') }} as _updated_utc
    from {{ source('shopify', 'products') }}
    where {{ delivered_by_as_of() }}
      {{ incremental_delivery_filter(version_col='updated_at', required=latest_ranking('product_id')) }}
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
    date as delivered_on,
    _source_file,
    _record_index
from latest
{% endset %}
{{ keep_latest(new_rows, 'product_id') }}
