with src as (
    select *, {{ to_utc('created_at') }} as _created_utc
    from {{ source('shopify', 'refunds') }}
    where {{ delivered_by_as_of() }}
),
latest as (
    {{ latest_version("select * from src where _created_utc < " ~ as_of_end(), "id", "_v.order_updated_at desc") }}
)
select
    latest.id as refund_id,
    latest.order_id,
    _created_utc as created_at,
    {{ to_utc('latest.processed_at') }} as processed_at,
    {{ dbt.cast(dbt.cast('coalesce(' ~ to_utc('latest.processed_at') ~ ', _created_utc)', dbt.type_timestamp()), 'date') }} as refund_date,
    latest.note,
    latest.restock,
    {{ dbt.cast('latest.refund_amount', 'decimal(18,2)') }} as refund_amount,
    latest.refund_currency,
    latest.refund_line_count,
    latest.date as delivered_on,
    latest._source_file,
    latest._record_hash
from latest
inner join {{ ref('stg_shopify__orders') }} as o on o.order_id = latest.order_id
