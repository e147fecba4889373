-- Nothing after the as_of day is visible (logical date rule).
select order_id from {{ ref('orders') }} where created_at >= {{ as_of_end() }}
