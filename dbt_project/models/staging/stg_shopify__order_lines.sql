{{ config(
    materialized=delivery_materialization(),
    unique_key='line_id',
    incremental_strategy='delete+insert',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{%- set cols = ['line_id', 'order_id', 'position', 'product_id', 'variant_id', 'sku', 'title', 'variant_title',
                'vendor', 'quantity', 'current_quantity', 'price', 'total_discount', 'gift_card', 'requires_shipping',
                'order_updated_at', 'delivered_on', '_source_file', '_record_index'] -%}
{% set new_rows %}
    select
        line_id,
        order_id,
        position,
        product_id,
        variant_id,
        sku,
        title,
        variant_title,
        vendor,
        quantity,
        current_quantity,
        {{ dbt.cast('price', 'decimal(18,2)') }} as price,
        {{ dbt.cast('coalesce(total_discount, 0) + coalesce(discount_allocated, 0)', 'decimal(18,2)') }} as total_discount,
        gift_card,
        requires_shipping,
        {{ to_utc('order_updated_at') }} as order_updated_at,
        date as delivered_on,
        _source_file,
        _record_index
    from {{ source('shopify', 'order_lines') }}
    where {{ delivered_by_as_of() }}
      and {{ to_utc('order_updated_at') }} < {{ as_of_end() }}
      {{ incremental_delivery_filter(version_col='order_updated_at') }}
{% endset %}
{{ incremental_dedupe(new_rows, 'line_id',
    'order_updated_at desc, delivered_on desc, _source_file desc, _record_index desc', cols) }}
