{#- Each order that quoted a code the activation issued, as of as_of: the send whose code it was
    (campaign, step, the customer it was sent to), the order and its customer, the discount and the
    order's revenue. A code counts once per order; codes the pipeline never issued (the store's own
    promotions) are not campaign redemptions and are left out. -#}
with issued as (
    select upper(trim(coupon_code)) as code_key, send_id, campaign, step, customer_key, channel,
           coalesce(sent_at, decided_at) as sent_at
    from {{ ref('stg_activation__sends') }}
    where coupon_code is not null and status in ('sent', 'outbox')
),
quoted as (
    select order_id, code_key, min(code) as code, sum(discount_amount) as discount_amount
    from {{ ref('stg_shopify__order_discount_codes') }}
    group by order_id, code_key
)
select
    {{ dbt.concat([dbt.cast('q.order_id', dbt.type_string()), "'#'", 'q.code_key']) }} as redemption_key,
    q.code,
    i.campaign,
    i.step,
    i.send_id,
    i.channel,
    i.customer_key as sent_to_customer_key,
    o.customer_key as ordered_by_customer_key,
    q.order_id,
    o.created_at as ordered_at,
    i.sent_at,
    {{ dbt.cast('q.discount_amount', 'decimal(18,2)') }} as discount_amount,
    o.gross_revenue as revenue,
    o.net_revenue,
    o.is_cancelled
from quoted q
inner join issued i on i.code_key = q.code_key
inner join {{ ref('orders') }} o on o.order_id = q.order_id
