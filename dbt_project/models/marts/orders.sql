{#- One row per order (latest version as of as_of), revenue net of refunds dated up to as_of. -#}
select
    o.*,
    case when o.is_cancelled then null else
        row_number() over (partition by o.customer_key, o.is_cancelled order by o.created_at, o.order_id)
    end as customer_order_number
from {{ ref('int_orders_enriched') }} o
