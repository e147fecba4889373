{#- Shopify checkouts with the person (customer_key) behind each: by customer id, else email, else
    phone. `ids` names a CTE or relation holding int_identity. -#}
{% macro checkouts_with_customer_key(ids='ids') -%}
    select coalesce(ic.customer_key, ie.customer_key, ip.customer_key) as customer_key, k.*
    from {{ ref('stg_shopify__checkouts') }} k
    left join {{ ids }} ic on ic.identifier_type = 'shopify_customer_id' and ic.identifier_value = cast(k.customer_id as {{ dbt.type_string() }})
    left join {{ ids }} ie on ie.identifier_type = 'email' and ie.identifier_value = k.email
    left join {{ ids }} ip on ip.identifier_type = 'phone' and ip.identifier_value = k.phone
{%- endmacro %}
