{#- Audience models (models/audiences): one row per recipient and occurrence of a campaign, with
    every field the activation engine and the message need. See models/audiences/_audiences.yml for
    the row contract and each campaign's occurrence. -#}

{#- JSON building. Values are composed as JSON text so that nested objects and arrays stay portable:
    audience_json_value encodes one scalar (string escaping, numbers, booleans, null) and is the only
    engine-specific part; objects and arrays are concatenations of already-encoded JSON text. -#}
{% macro audience_json_value(expr) -%}{{ return(adapter.dispatch('audience_json_value', 'retention')(expr)) }}{%- endmacro %}
{% macro default__audience_json_value(expr) -%}coalesce(cast(to_json({{ expr }}) as {{ dbt.type_string() }}), 'null'){%- endmacro %}
{% macro spark__audience_json_value(expr) -%}coalesce(nullif(regexp_extract(to_json(named_struct('v', {{ expr }})), '^\\{"v":(.*)\\}$', 1), ''), 'null'){%- endmacro %}

{#- A JSON object from [key, json_text] pairs (keys are literal identifiers, values already JSON text). -#}
{% macro audience_json_object(pairs) -%}{{ return(adapter.dispatch('audience_json_object', 'retention')(pairs)) }}{%- endmacro %}
{% macro default__audience_json_object(pairs) -%}
    {%- set parts = ["'{'"] -%}
    {%- for pair in pairs -%}
        {%- do parts.append("'" ~ ('' if loop.first else ',') ~ '"' ~ pair[0] ~ '"' ~ ":'") -%}
        {%- do parts.append("coalesce(" ~ pair[1] ~ ", 'null')") -%}
    {%- endfor -%}
    {%- do parts.append("'}'") -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- A JSON array aggregating JSON-text elements (an aggregate; '[]' when there are none). -#}
{% macro audience_json_array_agg(element, order_by_clause) -%}{{ return(adapter.dispatch('audience_json_array_agg', 'retention')(element, order_by_clause)) }}{%- endmacro %}
{% macro default__audience_json_array_agg(element, order_by_clause) -%}
    {{ dbt.concat(["'['", "coalesce(" ~ dbt.listagg(element, "','", order_by_clause) ~ ", '')", "']'"]) }}
{%- endmacro %}

{#- A date or timestamp as 'YYYY-MM-DD' text. -#}
{% macro audience_date_text(expr) -%}
    {{ dbt.cast(dbt.cast(expr, 'date'), dbt.type_string()) }}
{%- endmacro %}

{#- Where product images live: var product_image_url_template with {handle} / {product_id}
    placeholders (null when not set); product page: var storefront_url + /products/<handle>. -#}
{% macro audience_product_image_url(handle, product_id) -%}
    {%- set tpl = var('product_image_url_template', none) -%}
    {%- if tpl -%}
        replace(replace({{ dbt.string_literal(tpl) }}, '{handle}', coalesce({{ handle }}, '')), '{product_id}', cast({{ product_id }} as {{ dbt.type_string() }}))
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{% macro audience_product_url(handle) -%}
    {%- set base = var('storefront_url', none) -%}
    {%- if base -%}
        case when {{ handle }} is not null then {{ dbt.concat([dbt.string_literal(base.rstrip('/') ~ '/products/'), handle]) }} end
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{#- One product as a JSON object. -#}
{% macro audience_product_json(alias) -%}
    {{ audience_json_object([
        ['product_id', audience_json_value(alias ~ '.product_id')],
        ['title', audience_json_value(alias ~ '.title')],
        ['image_url', audience_json_value(alias ~ '.image_url')],
        ['url', audience_json_value(alias ~ '.url')],
        ['price', audience_json_value(alias ~ '.price')],
        ['quantity', audience_json_value(alias ~ '.quantity')],
    ]) }}
{%- endmacro %}

{#- Abandoned checkouts as audience entries: every checkout of a known person that is not completed,
    created in the last var('audience_abandoned_cart_horizon_hours') hours (longer than the last step's
    delay so later steps still find the occurrence and its exit flags), plus the checkout behind the
    current abandoned_cart segment membership. -#}
{% macro audience_checkout_entries() -%}
    select k.customer_key, {{ dbt.cast('k.checkout_id', dbt.type_string()) }} as occurrence, k.created_at as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, k.checkout_id as reference_id
    from person_checkouts k
    where k.customer_key is not null and k.checkout_id is not null and k.completed_at is null
      and k.created_at < {{ as_of_end() }}
      and (k.created_at >= {{ dbt.dateadd('hour', -1 * var('audience_abandoned_cart_horizon_hours', 96), as_of_end()) }}
           or k.checkout_id in (select t.reference_id from {{ ref('int_segment_triggers') }} t where t.segment = 'abandoned_cart'))
{%- endmacro %}

{#- The audience of one campaign.
    segment:       int_segment_triggers.segment whose members are the recipients.
    occurrence:    SQL text (aliases t = the trigger row, c = customers) naming the instance.
    products:      what `products` in the payload lists: 'trigger_product' (the product behind the
                   trigger), 'checkout' (lines of the checkout in reference_id), 'order' (lines of the
                   order in reference_id), 'last_order' (lines of the person's latest order) or none.
    exits:         [[name, SQL boolean], ...] -> exit_<name> columns (aliases e = entry, c = customers;
                   CTEs person_orders and person_checkouts hold the newest data as of as_of).
    extra_payload: [[key, JSON text], ...] appended to the payload (aliases e, c).
    entries:       optional SQL replacing the segment lookup; columns customer_key, occurrence,
                   triggered_at, product_id, reference_id.
    extra_ctes:    optional 'name as (...)' CTE text the exits / payload may use. -#}
{% macro audience(segment, occurrence='t.customer_key', products=none, exits=[], extra_payload=[], entries=none, extra_ctes=none) -%}
with customers as (
    select * from {{ ref('customers') }}
),
ids as (
    select * from {{ ref('int_identity') }}
),
person_orders as (
    -- non-cancelled orders visible as of as_of
    select order_id, customer_key, created_at, order_name, total_price, delivered_at
    from {{ ref('orders') }}
    where not is_cancelled and customer_key is not null
),
person_checkouts as ({{ checkouts_with_customer_key() }}),
entries as (
    {%- if entries is not none %}
    {{ entries }}
    {%- else %}
    select t.customer_key, {{ occurrence }} as occurrence, t.triggered_at, t.product_id, t.reference_id
    from {{ ref('int_segment_triggers') }} t
    inner join customers c on c.customer_key = t.customer_key
    where t.segment = '{{ segment }}'
    {%- endif %}
),
catalog as (
    select product_id, title, handle, current_price as price,
           {{ audience_product_image_url('handle', 'product_id') }} as image_url,
           {{ audience_product_url('handle') }} as url
    from {{ ref('products') }}
),
last_orders as (
    select customer_key, order_id, created_at from (
        select customer_key, order_id, created_at,
               row_number() over (partition by customer_key order by created_at desc, order_id desc) as rn
        from person_orders
    ) x where rn = 1
),
entry_products as (
    {%- if products == 'trigger_product' %}
    select e.customer_key, e.occurrence, 1 as position, p.product_id, p.title, p.image_url, p.url, p.price,
           cast(null as {{ dbt.type_int() }}) as quantity
    from entries e
    inner join catalog p on p.product_id = e.product_id
    {%- elif products == 'checkout' %}
    select e.customer_key, e.occurrence, l.position, l.product_id, coalesce(p.title, l.title) as title, p.image_url, p.url,
           l.price, l.quantity
    from entries e
    inner join {{ ref('stg_shopify__checkouts') }} k on k.checkout_id = e.reference_id
    inner join {{ ref('stg_shopify__checkout_lines') }} l on l.checkout_key = k.checkout_key
    left join catalog p on p.product_id = l.product_id
    {%- elif products in ('order', 'last_order') %}
    select e.customer_key, e.occurrence, row_number() over (partition by e.customer_key, e.occurrence order by l.line_id) as position,
           l.product_id, coalesce(p.title, l.title) as title, p.image_url, p.url, l.price, l.quantity
    from entries e
    {%- if products == 'last_order' %}
    inner join last_orders lo on lo.customer_key = e.customer_key
    inner join {{ ref('order_lines') }} l on l.order_id = lo.order_id
    {%- else %}
    inner join {{ ref('order_lines') }} l on l.order_id = e.reference_id
    {%- endif %}
    left join catalog p on p.product_id = l.product_id
    {%- else %}
    select customer_key, occurrence, 1 as position, cast(null as {{ dbt.type_bigint() }}) as product_id,
           cast(null as {{ dbt.type_string() }}) as title, cast(null as {{ dbt.type_string() }}) as image_url,
           cast(null as {{ dbt.type_string() }}) as url, cast(null as decimal(18,2)) as price,
           cast(null as {{ dbt.type_int() }}) as quantity
    from entries where 1 = 0
    {%- endif %}
),
products_json as (
    select customer_key, occurrence,
           {{ audience_json_array_agg(audience_product_json('ep'), 'order by ep.position, ep.product_id') }} as products_json
    from entry_products ep
    group by customer_key, occurrence
),
recommendations_json as (
    select r.customer_key,
           {{ audience_json_array_agg(audience_json_object([
               ['product_id', audience_json_value('r.product_id')],
               ['title', audience_json_value('p.title')],
               ['image_url', audience_json_value('p.image_url')],
               ['url', audience_json_value('p.url')],
               ['price', audience_json_value('p.price')],
               ['rank', audience_json_value('r.recommendation_rank')],
               ['reason', audience_json_value('r.reason')],
           ]), 'order by r.recommendation_rank') }} as recommendations_json
    from {{ ref('product_recommendations') }} r
    inner join catalog p on p.product_id = r.product_id
    where r.customer_key in (select customer_key from entries)
    group by r.customer_key
),
profile_region as (
    -- country / province of the person's most recently updated Shopify customer record that has one
    select customer_key, country_code, province_code from (
        select i.customer_key, s.country_code, s.province_code,
               row_number() over (partition by i.customer_key order by s.updated_at desc, s.customer_id) as rn
        from {{ ref('stg_shopify__customers') }} s
        inner join ids i on i.identifier_type = 'shopify_customer_id' and i.identifier_value = cast(s.customer_id as {{ dbt.type_string() }})
        where s.country_code is not null
    ) x where rn = 1
),
order_region as (
    -- else the shipping country of their latest order that has one (guests)
    select customer_key, country_code from (
        select o.customer_key, so.shipping_country_code as country_code,
               row_number() over (partition by o.customer_key order by o.created_at desc, o.order_id desc) as rn
        from person_orders o
        inner join {{ ref('stg_shopify__orders') }} so on so.order_id = o.order_id
        where so.shipping_country_code is not null
    ) x where rn = 1
),
zones as (
    select * from {{ ref('audience_time_zones') }}
),
customer_zone as (
    select e.customer_key,
           coalesce(zp.time_zone, zc.time_zone, zo.time_zone, {{ dbt.string_literal(var('store_time_zone', 'America/New_York')) }}) as time_zone
    from (select distinct customer_key from entries) e
    left join profile_region pr on pr.customer_key = e.customer_key
    left join order_region orr on orr.customer_key = e.customer_key
    left join zones zp on zp.country_code = upper(pr.country_code) and zp.province_code = upper(pr.province_code)
    left join zones zc on zc.country_code = upper(pr.country_code) and zc.province_code is null
    left join zones zo on zo.country_code = upper(orr.country_code) and zo.province_code is null
)
{%- if extra_ctes %},
{{ extra_ctes }}
{%- endif %}
select
    e.customer_key,
    e.occurrence,
    e.triggered_at,
    {{ as_of_date() }} as as_of,
    c.email,
    c.phone,
    c.first_name,
    cz.time_zone,
    coalesce(c.is_email_marketable, false) as is_email_marketable,
    coalesce(c.is_sms_marketable, false) as is_sms_marketable,
    coalesce(c.email_consent_state, 'unknown') as email_consent_state,
    coalesce(c.sms_consent_state, 'unknown') as sms_consent_state,
    c.email_suppression_reason,
    c.sms_suppression_reason,
    lo.created_at as last_order_at,
    {%- for ex in exits %}
    coalesce({{ ex[1] }}, false) as exit_{{ ex[0] }},
    {%- endfor %}
    {{ audience_json_object([
        ['first_name', audience_json_value('c.first_name')],
        ['products', "coalesce(pj.products_json, '[]')"],
        ['recommendations', "coalesce(rj.recommendations_json, '[]')"],
    ] + extra_payload) }} as payload
from entries e
inner join customers c on c.customer_key = e.customer_key
inner join customer_zone cz on cz.customer_key = e.customer_key
left join last_orders lo on lo.customer_key = e.customer_key
left join products_json pj on pj.customer_key = e.customer_key and pj.occurrence = e.occurrence
left join recommendations_json rj on rj.customer_key = e.customer_key
{%- endmacro %}
