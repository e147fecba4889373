{#- The discount codes quoted by the latest version of each order as of as_of, one row a code.
    Shopify compares codes without regard to case: `code_key` is the code trimmed and upper-cased.
    `d` is each element of the list (join_each), a struct sqlfluff cannot see as a table. -#}
-- noqa: disable=RF01
select
    o.order_id,
    d.code,
    upper(trim(d.code)) as code_key,
    {{ dbt.cast('d.amount', 'decimal(18,2)') }} as discount_amount,
    lower(d.type) as discount_type,
    o.created_at as ordered_at
from {{ ref('stg_shopify__orders') }} o
{{ join_each('o.discount_codes', 'd') }}
where d.code is not null and trim(d.code) <> ''
