{#- One customer_key per person. Rules (see DECISIONS.md):
    1. Shopify customer ids sharing an email (or a phone) are one person, anchored on the
       smallest customer id of the group.
    2. An email (orders, checkouts, SendGrid, reviews, NPS) belongs to the customer id that has it
       (customer record or an order placed with that customer id); else it is its own person
       (guests are merged across orders by email).
    3. A phone belongs to the customer id that has it, else to the person of an order/checkout that
       carries it with an email, else it is its own person.
    customer_key = hash of the canonical identifier ('shopify:<anchor id>' | 'email:<email>' | 'phone:<e164>'). -#}
with customers as (
    select customer_id, email, phone from {{ ref('stg_shopify__customers') }}
),
orders as (
    select customer_id, email, phone from {{ ref('stg_shopify__orders') }}
),
checkouts as (
    select customer_id, email, phone from {{ ref('stg_shopify__checkouts') }}
),
customer_ids as (
    select customer_id from customers
    union select customer_id from orders where customer_id is not null
    union select customer_id from checkouts where customer_id is not null
    union select customer_id from {{ ref('stg_web__events') }} where customer_id is not null
    union select customer_id from {{ ref('stg_reviews__reviews') }} where customer_id is not null
    union select customer_id from {{ ref('stg_nps__responses') }} where customer_id is not null
),
customer_emails as (
    select customer_id, email from customers where email is not null
    union select customer_id, email from orders where customer_id is not null and email is not null
),
email_anchor as (
    select email, min(customer_id) as anchor_id from customer_emails group by email
),
id_anchor_by_email as (
    select ce.customer_id, min(ea.anchor_id) as anchor_id
    from customer_emails ce inner join email_anchor ea on ea.email = ce.email
    group by ce.customer_id
),
customer_phones as (
    select c.customer_id, c.phone, coalesce(a.anchor_id, c.customer_id) as anchor_id
    from customers c left join id_anchor_by_email a on a.customer_id = c.customer_id
    where c.phone is not null
),
phone_anchor as (
    select phone, min(anchor_id) as anchor_id from customer_phones group by phone
),
id_anchor as (
    -- email group first; a customer without email takes the anchor of its phone group
    select
        ci.customer_id,
        coalesce(ae.anchor_id, pa.anchor_id, ci.customer_id) as anchor_id
    from customer_ids ci
    left join id_anchor_by_email ae on ae.customer_id = ci.customer_id
    left join customers c on c.customer_id = ci.customer_id
    left join phone_anchor pa on pa.phone = c.phone and ae.anchor_id is null
),
all_emails as (
    select email from customers where email is not null
    union select email from orders where email is not null
    union select email from checkouts where email is not null
    union select email from {{ ref('stg_sendgrid__events') }} where email is not null
    union select email from {{ ref('stg_reviews__reviews') }} where email is not null
    union select email from {{ ref('stg_nps__responses') }} where email is not null
),
email_canonical as (
    select e.email,
        case when a.anchor_id is not null
             then 'shopify:' || cast(ia.anchor_id as {{ dbt.type_string() }})
             else 'email:' || e.email end as canonical
    from all_emails e
    left join email_anchor a on a.email = e.email
    left join id_anchor ia on ia.customer_id = a.anchor_id
),
phone_sightings as (
    -- phones seen on orders/checkouts, with the person of the same record
    select o.phone, min(coalesce(
        'shopify:' || cast(ia.anchor_id as {{ dbt.type_string() }}), ec.canonical)) as canonical
    from (select * from orders union all select * from checkouts) o
    left join id_anchor ia on ia.customer_id = o.customer_id
    left join email_canonical ec on ec.email = o.email
    where o.phone is not null
    group by o.phone
),
all_phones as (
    select phone from customers where phone is not null
    union select phone from orders where phone is not null
    union select phone from checkouts where phone is not null
    union select from_phone from {{ ref('stg_twilio__inbound_messages') }} where from_phone is not null
    union select to_phone from {{ ref('stg_twilio__message_status') }} where to_phone is not null
),
phone_canonical as (
    select p.phone,
        coalesce(
            'shopify:' || cast(pa.anchor_id as {{ dbt.type_string() }}),
            ps.canonical,
            'phone:' || p.phone) as canonical
    from all_phones p
    left join phone_anchor pa on pa.phone = p.phone
    left join phone_sightings ps on ps.phone = p.phone
),
identifiers as (
    select 'shopify_customer_id' as identifier_type, cast(customer_id as {{ dbt.type_string() }}) as identifier_value,
           'shopify:' || cast(anchor_id as {{ dbt.type_string() }}) as canonical
    from id_anchor
    union all
    select 'email', email, canonical from email_canonical
    union all
    select 'phone', phone, canonical from phone_canonical
)
select
    identifier_type,
    identifier_value,
    {{ key_of('canonical') }} as customer_key,
    {{ dbt.split_part('canonical', "':'", 1) }} as key_basis
from identifiers
