{#- Explicit product subscriptions (stg_subscriptions__subscriptions: back in stock, price drop, wish
    list) for audience_back_in_stock and audience_price_drop. A store that has any uses them; one
    that has none falls back to inferred interest (viewed or carted, int_segment_triggers). -#}

{#- The variants that the open subscriptions of the given kinds cover, for known people: one row per
    subscription and variant (a subscription without a variant covers every variant of its product). -#}
{% macro audience_subscribed_variants(kinds) -%}
    select
        coalesce(ic.customer_key, ie.customer_key) as customer_key,
        s.created_at as subscribed_at,
        v.product_id,
        v.variant_id,
        v.price,
        v.previous_price,
        v.price_changed_at,
        v.restocked_at,
        v.inventory_quantity
    from {{ ref('stg_subscriptions__subscriptions') }} as s
    inner join {{ ref('stg_shopify__product_variants') }} as v
        on s.product_id = v.product_id and (s.variant_id is null or s.variant_id = v.variant_id)
    left join {{ ref('int_identity') }} as ic
        on ic.identifier_type = 'shopify_customer_id'
        and ic.identifier_value = cast(s.customer_id as {{ dbt.type_string() }})
    left join {{ ref('int_identity') }} as ie on ie.identifier_type = 'email' and s.email = ie.identifier_value
    where s.kind in ({{ "'" ~ kinds | join("', '") ~ "'" }}) and s.cancelled_at is null
        and coalesce(ic.customer_key, ie.customer_key) is not null
{%- endmacro %}

{#- True when the store has explicit subscriptions at all (then inferred interest is not used). -#}
{% macro audience_store_has_subscriptions() -%}
    exists (select 1 from {{ ref('stg_subscriptions__subscriptions') }})
{%- endmacro %}
