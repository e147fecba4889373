{{ config(
    materialized=delivery_materialization(),
    unique_key='checkout_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{% set new_rows %}
with src as (
    select *, {{ to_utc('updated_at') }} as _updated_utc
    from {{ source('shopify', 'checkouts') }}
    where {{ delivered_by_as_of() }}
      {{ incremental_delivery_filter(version_col='updated_at', required=latest_ranking('checkout_key')) }}
),
latest as (
    {{ latest_version("select * from src where _updated_utc < " ~ as_of_end(), "coalesce(cast(id as " ~ dbt.type_string() ~ "), token)", "_v._updated_utc desc") }}
)
select
    coalesce(cast(id as {{ dbt.type_string() }}), token) as checkout_key,
    id as checkout_id,
    token as checkout_token,
    cart_token,
    customer_id,
    {{ normalize_email('email') }} as email,
    coalesce({{ normalize_phone('phone') }}, {{ normalize_phone('sms_marketing_phone') }}) as phone,
    {{ to_utc('created_at') }} as created_at,
    _updated_utc as updated_at,
    {{ to_utc('completed_at') }} as completed_at,
    {{ to_utc('closed_at') }} as closed_at,
    abandoned_checkout_url,
    buyer_accepts_marketing,
    buyer_accepts_sms_marketing,
    currency,
    {{ dbt.cast('subtotal_price', 'decimal(18,2)') }} as subtotal_price,
    {{ dbt.cast('total_price', 'decimal(18,2)') }} as total_price,
    line_item_count,
    date as delivered_on,
    _source_file,
    _record_index
from latest
{% endset %}
{{ keep_latest(new_rows, 'checkout_key') }}
