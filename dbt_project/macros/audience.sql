{#- Parts of the audience models (models/audiences): one row per recipient and occurrence of a
    campaign, with every field the activation engine and the message need. Each audience model is
    written out in its own file from these parts: its entries, the products its message lists, the
    contract's recipient columns (int_audience_recipients), its exit flags and its payload. The row
    contract is enforced on every audience model (models/audiences/_audiences.yml). -#}

{#- JSON building. Values are composed as JSON text so that nested objects and arrays stay portable:
    audience_json_value encodes one scalar (string escaping, numbers, booleans, null) and is the only
    engine-specific part; objects and arrays are concatenations of already-encoded JSON text. -#}
{% macro audience_json_value(expr) -%}{{ return(adapter.dispatch('audience_json_value', 'retention')(expr)) }}{%- endmacro %}
{% macro default__audience_json_value(expr) -%}coalesce(cast(to_json({{ expr }}) as {{ dbt.type_string() }}), 'null'){%- endmacro %}
{% macro spark__audience_json_value(expr) -%}coalesce(nullif(regexp_extract(to_json(named_struct('v', {{ expr }})), '^\\{"v":(.*)\\}$', 1), ''), 'null'){%- endmacro %}

{#- A timestamp as JSON text, 'YYYY-MM-DD HH:MM:SS[.fraction]': through its text form, which both
    engines write alike (Spark's to_json writes ISO 8601 with a zone). -#}
{% macro audience_json_time(expr) -%}{{ audience_json_value(dbt.cast(expr, dbt.type_string())) }}{%- endmacro %}

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

{#- A JSON array aggregating JSON-text elements in the order of order_by (an aggregate; '[]' when
    there are none). -#}
{% macro audience_json_array_agg(element, order_by) -%}
    {{ dbt.concat(["'['", "coalesce(" ~ ordered_listagg(element, "','", order_by) ~ ", '')", "']'"]) }}
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

{#- Person-level CTE bodies some audiences' exits and payloads read: the non-cancelled orders
    visible as of as_of, and checkouts with the person who started them. -#}
{% macro audience_person_orders() -%}
    select order_id, customer_key, created_at, order_name, total_price, delivered_at
    from {{ ref('orders') }}
    where not is_cancelled and customer_key is not null
{%- endmacro %}

{% macro audience_person_checkouts() -%}
    {{ checkouts_with_customer_key(ref('int_identity')) }}
{%- endmacro %}

{#- Entries = the members of a segment of int_segment_triggers (columns customer_key, occurrence,
    triggered_at, product_id, reference_id). occurrence: SQL text (aliases t = the trigger row,
    c = customers) naming the instance of the campaign. -#}
{% macro audience_segment_entries(segment, occurrence='t.customer_key') -%}
    select t.customer_key, {{ occurrence }} as occurrence, t.triggered_at, t.product_id, t.reference_id
    from {{ ref('int_segment_triggers') }} t
    inner join {{ ref('customers') }} c on c.customer_key = t.customer_key
    where t.segment = '{{ segment }}'
{%- endmacro %}

{#- Abandoned checkouts as audience entries: every checkout of a known person that is not completed,
    created in the last var('audience_abandoned_cart_horizon_hours') hours (longer than the last step's
    delay so later steps still find the occurrence and its exit flags), plus the checkout behind the
    current abandoned_cart segment membership. Reads the CTE person_checkouts. -#}
{% macro audience_checkout_entries() -%}
    select k.customer_key, {{ dbt.cast('k.checkout_id', dbt.type_string()) }} as occurrence, k.created_at as triggered_at,
           cast(null as {{ dbt.type_bigint() }}) as product_id, k.checkout_id as reference_id
    from person_checkouts k
    where k.customer_key is not null and k.checkout_id is not null and k.completed_at is null
      and k.created_at < {{ as_of_end() }}
      and (k.created_at >= {{ dbt.dateadd('hour', -1 * var('audience_abandoned_cart_horizon_hours', 96), as_of_end()) }}
           or k.checkout_id in (select t.reference_id from {{ ref('int_segment_triggers') }} t where t.segment = 'abandoned_cart'))
{%- endmacro %}

{#- What `products` in the payload lists, one macro per kind; each selects customer_key, occurrence,
    position, product_id, title, image_url, url, price, quantity from the CTE entries. -#}
{#- The product behind the trigger (back in stock, price drop, replenishment). -#}
{% macro audience_trigger_products() -%}
    select e.customer_key, e.occurrence, 1 as position, p.product_id, p.title, p.image_url, p.url, p.price,
           cast(null as {{ dbt.type_int() }}) as quantity
    from entries e
    inner join {{ ref('int_audience_products') }} p on p.product_id = e.product_id
{%- endmacro %}

{#- The lines of the checkout in reference_id, with the line price and quantity. -#}
{% macro audience_checkout_products() -%}
    select e.customer_key, e.occurrence, l.position, l.product_id, coalesce(p.title, l.title) as title, p.image_url, p.url,
           l.price, l.quantity
    from entries e
    inner join {{ ref('stg_shopify__checkouts') }} k on k.checkout_id = e.reference_id
    inner join {{ ref('stg_shopify__checkout_lines') }} l on l.checkout_key = k.checkout_key
    left join {{ ref('int_audience_products') }} p on p.product_id = l.product_id
{%- endmacro %}

{#- The lines of an order: the one in reference_id (order_id_expr='e.reference_id') or the person's
    latest order (order_id_expr='r.last_order_id'). -#}
{% macro audience_order_products(order_id_expr='e.reference_id') -%}
    select e.customer_key, e.occurrence, row_number() over (partition by e.customer_key, e.occurrence order by l.line_id) as position,
           l.product_id, coalesce(p.title, l.title) as title, p.image_url, p.url, l.price, l.quantity
    from entries e
    inner join {{ ref('int_audience_recipients') }} r on r.customer_key = e.customer_key
    inner join {{ ref('order_lines') }} l on l.order_id = {{ order_id_expr }}
    left join {{ ref('int_audience_products') }} p on p.product_id = l.product_id
{%- endmacro %}

{#- The products of each entry as a JSON array (text), from the CTE entry_products. -#}
{% macro audience_products_json() -%}
    select customer_key, occurrence,
           {{ audience_json_array_agg(audience_product_json('ep'), ['ep.position', 'ep.product_id']) }} as products_json
    from entry_products ep
    group by customer_key, occurrence
{%- endmacro %}

{#- The contract's columns up to last_order_at (aliases e = entries, r = int_audience_recipients);
    exit_<name> flags and the payload follow them. -#}
{% macro audience_recipient_columns() -%}
    e.customer_key,
    e.occurrence,
    e.triggered_at,
    {{ as_of_date() }} as as_of,
    r.email,
    r.phone,
    r.first_name,
    r.time_zone,
    r.is_email_marketable,
    r.is_sms_marketable,
    r.email_consent_state,
    r.sms_consent_state,
    r.email_suppression_reason,
    r.email_unsubscribed_groups,
    r.email_frequency,
    r.sms_suppression_reason,
    r.sms_quiet_hours,
    r.last_order_at
{%- endmacro %}

{#- The payload: a JSON object with first_name, products, recommendations and the campaign's own
    [[key, JSON text], ...] (aliases e, c = customers, r, pj = products_json). -#}
{% macro audience_payload(campaign_fields=[], products="coalesce(pj.products_json, '[]')") -%}
    {{ audience_json_object([
        ['first_name', audience_json_value('r.first_name')],
        ['products', products],
        ['recommendations', 'r.recommendations_json'],
    ] + campaign_fields) }}
{%- endmacro %}

{#- From the entries to their recipient (customers c, int_audience_recipients r) and, when the
    campaign lists products, their products (CTE products_json as pj). -#}
{% macro audience_from_entries(with_products=true) -%}
    from entries e
    inner join {{ ref('customers') }} c on c.customer_key = e.customer_key
    inner join {{ ref('int_audience_recipients') }} r on r.customer_key = e.customer_key
    {%- if with_products %}
    left join products_json pj on pj.customer_key = e.customer_key and pj.occurrence = e.occurrence
    {%- endif %}
{%- endmacro %}
