{#- Order notices (audience_order_shipped, audience_order_delivered): fulfilments of the person's
    non-cancelled orders whose `moment` (created_at = shipped, delivered_at = delivered) falls on one of
    the last `window_days` UTC days up to as_of (the day before still counts, so a missed run catches
    up). Occurrence = the fulfilment id: each shipment is announced once, a split order once per parcel.
    Also selects the fulfilment's tracking and the order name for the payload. -#}
{% macro audience_fulfilment_entries(moment, window_days) -%}
    select
        o.customer_key,
        {{ dbt.cast('f.fulfillment_id', dbt.type_string()) }} as occurrence,
        f.{{ moment }} as triggered_at,
        cast(null as {{ dbt.type_bigint() }}) as product_id,
        f.order_id as reference_id,
        o.order_name,
        f.delivered_at,
        f.tracking_company,
        f.tracking_number,
        f.tracking_url
    from {{ ref('stg_shopify__fulfillments') }} as f
    inner join {{ ref('orders') }} as o on f.order_id = o.order_id
    where not o.is_cancelled and o.customer_key is not null
        and coalesce(f.status, 'success') not in ('cancelled', 'error', 'failure')
        and f.{{ moment }} < {{ as_of_end() }}
        and {{ dbt.cast('f.' ~ moment, 'date') }} > {{ as_of_minus_days(window_days) }}
{%- endmacro %}

{#- The payload fields of a fulfilment notice (alias e = the entries above). -#}
{% macro audience_fulfilment_fields() -%}
    {{ return([
        ['order_id', audience_json_value('e.reference_id')],
        ['order_name', audience_json_value('e.order_name')],
        ['tracking_company', audience_json_value('e.tracking_company')],
        ['tracking_number', audience_json_value('e.tracking_number')],
        ['tracking_url', audience_json_value('e.tracking_url')],
    ]) }}
{%- endmacro %}
