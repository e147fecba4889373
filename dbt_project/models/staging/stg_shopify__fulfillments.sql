with src as (
    select *, {{ to_utc('created_at') }} as _created_utc
    from {{ source('shopify', 'fulfillments') }}
    where {{ delivered_by_as_of() }}
),
latest as (
    {{ latest_version("select * from src where _created_utc < " ~ as_of_end() ~ " and coalesce(" ~ to_utc('updated_at') ~ ", _created_utc) < " ~ as_of_end(), "id", "coalesce(_v.updated_at, _v.created_at) desc, _v.order_updated_at desc") }}
)
select
    latest.id as fulfillment_id,
    latest.order_id,
    latest.status,
    latest.shipment_status,
    latest.tracking_company,
    latest.tracking_number,
    latest.tracking_url,
    latest._created_utc as created_at,
    {{ to_utc('latest.updated_at') }} as updated_at,
    case when latest.shipment_status = 'delivered' then {{ to_utc('latest.updated_at') }} end as delivered_at,
    latest.line_item_count,
    latest.date as delivered_on
from latest
inner join {{ ref('stg_shopify__orders') }} as o on o.order_id = latest.order_id
