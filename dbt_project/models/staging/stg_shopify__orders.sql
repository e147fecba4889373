{{ config(
    materialized=delivery_materialization(),
    unique_key='order_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{% set new_rows %}
with src as (
    select *, {{ to_utc('updated_at') }} as _updated_utc
    from {{ source('shopify', 'orders') }}
    where {{ delivered_by_as_of() }}
      {{ incremental_delivery_filter(version_col='updated_at', required=latest_ranking('order_id')) }}
),
latest as (
    {{ latest_version("select * from src where _updated_utc < " ~ as_of_end(), "id", "_v._updated_utc desc") }}
)
select
    id as order_id,
    name as order_name,
    order_number,
    customer_id,
    coalesce({{ normalize_email('email') }}, {{ normalize_email('contact_email') }}) as email,
    {{ normalize_phone('phone') }} as phone,
    {{ to_utc('created_at') }} as created_at,
    {{ to_utc('processed_at') }} as processed_at,
    _updated_utc as updated_at,
    {{ to_utc('cancelled_at') }} as cancelled_at,
    cancel_reason,
    {{ to_utc('closed_at') }} as closed_at,
    currency,
    financial_status,
    fulfillment_status,
    coalesce(test, false) as is_test,
    {{ dbt.cast('subtotal_price', 'decimal(18,2)') }} as subtotal_price,
    {{ dbt.cast('total_line_items_price', 'decimal(18,2)') }} as total_line_items_price,
    {{ dbt.cast('total_discounts', 'decimal(18,2)') }} as total_discounts,
    {{ dbt.cast('total_tax', 'decimal(18,2)') }} as total_tax,
    {{ dbt.cast('total_shipping_price', 'decimal(18,2)') }} as total_shipping_price,
    {{ dbt.cast('total_price', 'decimal(18,2)') }} as total_price,
    source_name,
    checkout_id,
    checkout_token,
    cart_token,
    buyer_accepts_marketing,
    shipping_country_code,
    {{ landed_column(source('shopify', 'orders'), 'shipping_address_key', dbt.type_string()) }} as shipping_address_key,
    line_item_count,
    discount_codes,
    date as delivered_on,
    _source_file,
    _record_hash,
    _record_index
from latest
{% endset %}
{{ keep_latest(new_rows, 'order_id') }}
