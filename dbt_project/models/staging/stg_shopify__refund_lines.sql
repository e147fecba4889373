with src as (
    select *
    from {{ source('shopify', 'refund_lines') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('refund_created_at') }} < {{ as_of_end() }}
),
latest as (
    {{ latest_version("select * from src", "id", "_v.order_updated_at desc") }}
)
select
    latest.id as refund_line_id,
    latest.refund_id,
    latest.order_id,
    latest.line_item_id as line_id,
    latest.quantity,
    latest.restock_type,
    {{ dbt.cast('latest.subtotal', 'decimal(18,2)') }} as subtotal,
    {{ dbt.cast('latest.total_tax', 'decimal(18,2)') }} as total_tax,
    latest.product_id,
    latest.variant_id,
    r.refund_date,
    latest.date as delivered_on
from latest
inner join {{ ref('stg_shopify__refunds') }} as r on r.refund_id = latest.refund_id
