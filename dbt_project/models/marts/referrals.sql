{#- Every order that quoted a referral code (prefix referral_code_prefix), as of as_of, accepted or
    rejected with the reason. The checks, in order (the first that holds is the reason):
      unknown_code           no customer's referral code (macro referral_code)
      self_referral_email    the order's email is one the advocate is known by (identity, account, orders)
      self_referral_phone    the order's phone belongs to the advocate
      self_referral          the order is the advocate's own under another identifier
      self_referral_address  the order ships to a street address of the advocate (account or order)
      existing_customer      the friend had ordered before this order
      code_limit_reached     the code already has referral_code_limit accepted referrals
    Cancelled orders refer nobody. One referral code counts per order. -#}
{%- set advocate_has -%}
    exists (select 1 from advocate_identifiers as ai where ai.customer_key = a.advocate_customer_key and ai.kind = '{kind}' and ai.value = {value})
{%- endset %}
with ids as (select * from {{ ref('int_identity') }}),
advocates as (
    select customer_key as advocate_customer_key, {{ referral_code('customer_key') }} as code_key
    from (select distinct customer_key from ids where key_basis = 'shopify') as s
),
orders as (
    select o.order_id, o.customer_key, o.created_at, o.email, o.phone, o.net_revenue, s.shipping_address_key
    from {{ ref('int_orders_enriched') }} as o
    inner join {{ ref('stg_shopify__orders') }} as s on o.order_id = s.order_id
    where not o.is_cancelled
),
quoted as (
    select order_id, min(code_key) as code_key, min(code) as code
    from {{ ref('stg_shopify__order_discount_codes') }}
    where code_key like {{ dbt.string_literal(var('referral_code_prefix') | upper ~ '-%') }}
    group by order_id
),
advocate_identifiers as (
    -- every email, phone and street address (hashed) a person is known by: the identity graph,
    -- their Shopify accounts and their orders
    select customer_key, identifier_type as kind, identifier_value as value
    from ids where identifier_type in ('email', 'phone')
    {%- for kind, column in [('email', 'email'), ('phone', 'phone'), ('address', 'address_key')] %}
    union
    select i.customer_key, '{{ kind }}', c.{{ column }}
    from {{ ref('stg_shopify__customers') }} as c
    inner join ids as i on i.identifier_type = 'shopify_customer_id' and i.identifier_value = cast(c.customer_id as {{ dbt.type_string() }})
    where c.{{ column }} is not null
    {%- endfor %}
    {%- for kind, column in [('email', 'email'), ('phone', 'phone'), ('address', 'shipping_address_key')] %}
    union
    select customer_key, '{{ kind }}', {{ column }} from orders where {{ column }} is not null
    {%- endfor %}
),
uses as (
    select
        q.order_id, q.code, a.advocate_customer_key, o.customer_key as friend_customer_key, o.created_at as ordered_at,
        o.net_revenue,
        case
            when a.advocate_customer_key is null then 'unknown_code'
            when {{ advocate_has.format(kind='email', value='o.email') }} then 'self_referral_email'
            when {{ advocate_has.format(kind='phone', value='o.phone') }} then 'self_referral_phone'
            when o.customer_key = a.advocate_customer_key then 'self_referral'
            when {{ advocate_has.format(kind='address', value='o.shipping_address_key') }} then 'self_referral_address'
            when exists (
                select 1 from orders as p
                where p.customer_key = o.customer_key
                    and (p.created_at < o.created_at or (p.created_at = o.created_at and p.order_id < o.order_id))
            ) then 'existing_customer'
        end as check_failed
    from quoted as q
    inner join orders as o on q.order_id = o.order_id
    left join advocates as a on q.code_key = a.code_key
),
numbered as (
    -- the passing referrals of each code in order; past the limit they are rejected
    select *,
        case when check_failed is null
             then row_number() over (partition by advocate_customer_key, check_failed is null order by ordered_at, order_id)
        end as referral_number
    from uses
)
select
    order_id,
    code,
    advocate_customer_key,
    friend_customer_key,
    ordered_at,
    {{ dbt.cast('net_revenue', 'decimal(18,2)') }} as friend_net_revenue,
    case when check_failed is null and referral_number <= {{ var('referral_code_limit') }} then 'accepted' else 'rejected' end as status,
    case
        when check_failed is not null then check_failed
        when referral_number > {{ var('referral_code_limit') }} then 'code_limit_reached'
    end as rejection_reason,
    case when check_failed is null and referral_number <= {{ var('referral_code_limit') }} then referral_number end as referral_number,
    {{ as_of_date() }} as as_of
from numbered
