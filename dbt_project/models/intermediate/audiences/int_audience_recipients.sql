{#- Everything an audience row says about its recipient, one row per person of `customers`: contact
    and consent columns of the audience contract, their time zone, their latest order and their
    product recommendations as JSON text. Every audience_* model joins it on customer_key. -#}
with ids as (
    select * from {{ ref('int_identity') }}
),

person_orders as (
    -- non-cancelled orders visible as of as_of
    select order_id, customer_key, created_at
    from {{ ref('orders') }}
    where not is_cancelled and customer_key is not null
),

last_orders as (
    select customer_key, order_id, created_at
    from (
        select
            customer_key,
            order_id,
            created_at,
            row_number() over (partition by customer_key order by created_at desc, order_id desc) as rn
        from person_orders
    ) as x
    where rn = 1
),

profile_region as (
    -- country / province of the person's most recently updated Shopify customer record that has one
    select customer_key, country_code, province_code
    from (
        select
            i.customer_key,
            s.country_code,
            s.province_code,
            row_number() over (partition by i.customer_key order by s.updated_at desc, s.customer_id) as rn
        from {{ ref('stg_shopify__customers') }} as s
        inner join ids as i
            on i.identifier_type = 'shopify_customer_id'
            and i.identifier_value = cast(s.customer_id as {{ dbt.type_string() }})
        where s.country_code is not null
    ) as x
    where rn = 1
),

order_region as (
    -- else the shipping country of their latest order that has one (guests)
    select customer_key, country_code
    from (
        select
            o.customer_key,
            so.shipping_country_code as country_code,
            row_number() over (partition by o.customer_key order by o.created_at desc, o.order_id desc) as rn
        from person_orders as o
        inner join {{ ref('stg_shopify__orders') }} as so on o.order_id = so.order_id
        where so.shipping_country_code is not null
    ) as x
    where rn = 1
),

zones as (
    select * from {{ ref('audience_time_zones') }}
),

state_quiet_hours as (
    select * from {{ ref('sms_quiet_hours_by_state') }}
),

recommendations as (
    select
        r.customer_key,
        {{ audience_json_array_agg(audience_json_object([
            ['product_id', audience_json_value('r.product_id')],
            ['title', audience_json_value('p.title')],
            ['image_url', audience_json_value('p.image_url')],
            ['url', audience_json_value('p.url')],
            ['price', audience_json_value('p.price')],
            ['rank', audience_json_value('r.recommendation_rank')],
            ['reason', audience_json_value('r.reason')],
        ]), 'r.recommendation_rank') }} as recommendations_json
    from {{ ref('product_recommendations') }} as r
    inner join {{ ref('int_audience_products') }} as p on r.product_id = p.product_id
    group by r.customer_key
)

select
    c.customer_key,
    c.email,
    c.phone,
    c.first_name,
    coalesce(
        zp.time_zone, zc.time_zone, zo.time_zone,
        {{ dbt.string_literal(var('store_time_zone', 'America/New_York')) }}
    ) as time_zone,
    coalesce(c.is_email_marketable, false) as is_email_marketable,
    coalesce(c.is_sms_marketable, false) as is_sms_marketable,
    coalesce(c.email_consent_state, 'unknown') as email_consent_state,
    coalesce(c.sms_consent_state, 'unknown') as sms_consent_state,
    c.email_suppression_reason,
    c.email_unsubscribed_groups,
    c.email_frequency,
    c.sms_suppression_reason,
    {{ dbt.concat(["sq.quiet_start", "'-'", "sq.quiet_end"]) }} as sms_quiet_hours,
    lo.created_at as last_order_at,
    lo.order_id as last_order_id,
    coalesce(rj.recommendations_json, '[]') as recommendations_json
from {{ ref('customers') }} as c
left join last_orders as lo on c.customer_key = lo.customer_key
left join profile_region as pr on c.customer_key = pr.customer_key
left join order_region as orr on c.customer_key = orr.customer_key
left join zones as zp on upper(pr.country_code) = zp.country_code and upper(pr.province_code) = zp.province_code
left join zones as zc on upper(pr.country_code) = zc.country_code and zc.province_code is null
left join zones as zo on upper(orr.country_code) = zo.country_code and zo.province_code is null
left join recommendations as rj on c.customer_key = rj.customer_key
left join state_quiet_hours as sq on upper(pr.country_code) = sq.country_code and upper(pr.province_code) = sq.province_code
