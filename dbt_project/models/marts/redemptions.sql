{#- Each order that quoted a code the activation issued, as of as_of: the send whose code it was
    (campaign, step, the customer it was sent to), the order and its customer, the discount and the
    order's revenue. A code counts once per order; codes the pipeline never issued (the store's own
    promotions) are not campaign redemptions and are left out.
    A code can go out in several sends (a reminder step repeats its cart's code): the order is credited
    to one, the send clicked last before the order, else the send sent last before it, else the
    earliest (ties: the larger send_id). -#}
with issued as (
    select upper(trim(coupon_code)) as code_key, send_id, campaign, step, customer_key, channel,
           coalesce(sent_at, decided_at) as sent_at
    from {{ ref('stg_activation__sends') }}
    where coupon_code is not null and status in ('sent', 'outbox')
),
clicks as (
    select send_id, max(first_clicked_at) as clicked_at
    from {{ ref('int_email_message_outcomes') }}
    where send_id in (select send_id from issued)
    group by send_id
),
quoted as (
    select order_id, code_key, min(code) as code, sum(discount_amount) as discount_amount
    from {{ ref('stg_shopify__order_discount_codes') }}
    group by order_id, code_key
),
credited as (
    select
        q.order_id,
        q.code_key,
        q.code,
        q.discount_amount,
        i.send_id,
        i.campaign,
        i.step,
        i.channel,
        i.customer_key,
        i.sent_at,
        row_number() over (
            partition by q.order_id, q.code_key
            order by
                case when c.clicked_at <= o.created_at then c.clicked_at end desc nulls last,
                case when i.sent_at <= o.created_at then i.sent_at end desc nulls last,
                i.sent_at asc,
                i.send_id desc
        ) as credit_rank
    from quoted q
    inner join issued i on i.code_key = q.code_key
    inner join {{ ref('orders') }} o on o.order_id = q.order_id
    left join clicks c on c.send_id = i.send_id
)
select
    {{ dbt.concat([dbt.cast('r.order_id', dbt.type_string()), "'#'", 'r.code_key']) }} as redemption_key,
    r.code,
    r.campaign,
    r.step,
    r.send_id,
    r.channel,
    r.customer_key as sent_to_customer_key,
    o.customer_key as ordered_by_customer_key,
    r.order_id,
    o.created_at as ordered_at,
    r.sent_at,
    {{ dbt.cast('r.discount_amount', 'decimal(18,2)') }} as discount_amount,
    o.gross_revenue as revenue,
    o.net_revenue,
    o.is_cancelled
from credited r
inner join {{ ref('orders') }} o on o.order_id = r.order_id
where r.credit_rank = 1
