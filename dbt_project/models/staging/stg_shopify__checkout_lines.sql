{#- Lines of the latest version of each checkout. -#}
with src as (
    select *, {{ to_utc('checkout_updated_at') }} as _version_at
    from {{ source('shopify', 'checkout_lines') }}
    where {{ delivered_by_as_of() }}
),
latest as (
    {{ latest_version("select * from src where _version_at < " ~ as_of_end(),
        "coalesce(cast(checkout_id as " ~ dbt.type_string() ~ "), checkout_token), coalesce(key, cast(position as " ~ dbt.type_string() ~ "))", "_v._version_at desc") }}
)
select
    c.checkout_key || '-' || coalesce(l.key, cast(l.position as {{ dbt.type_string() }})) as checkout_line_key,
    c.checkout_key,
    l.position,
    l.product_id,
    l.variant_id,
    l.sku,
    l.title,
    l.quantity,
    {{ dbt.cast('l.price', 'decimal(18,2)') }} as price,
    {{ dbt.cast('l.line_price', 'decimal(18,2)') }} as line_price,
    l.delivered_on
from (select *, date as delivered_on from latest) as l
inner join {{ ref('stg_shopify__checkouts') }} as c
    on c.checkout_key = coalesce(cast(l.checkout_id as {{ dbt.type_string() }}), l.checkout_token)
   and c.updated_at = l._version_at
