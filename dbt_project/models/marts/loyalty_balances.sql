{#- Each customer's loyalty points as of as_of (events: int_loyalty_points_ledger) with their tier
    (int_loyalty). Points are spent oldest first, so the balance is what is left of the newest
    earnings still valid: the points expiring soonest are the oldest of those. -#}
with ledger as (select * from {{ ref('int_loyalty_points_ledger') }}),
totals as (
    select customer_key,
        sum(case when event_type = 'earn' then points else 0 end) as points_earned,
        -sum(case when event_type = 'redeem' then points else 0 end) as points_redeemed,
        -sum(case when event_type = 'expire' then points else 0 end) as points_expired,
        sum(points) as points_balance,
        count(case when event_type = 'redeem' then 1 end) as rewards_redeemed,
        sum(case when event_type = 'earn' and expires_on > {{ as_of_date() }} then points else 0 end) as points_valid_earned
    from ledger group by customer_key
),
valid_earnings as (
    -- earnings not yet expired, oldest first, with what is left of each after the spent points
    select l.customer_key, l.expires_on, l.points,
        sum(l.points) over (partition by l.customer_key order by l.expires_on, l.order_id
            rows between unbounded preceding and current row) as running,
        t.points_valid_earned - t.points_balance as spent_of_valid
    from ledger l
    inner join totals t on t.customer_key = l.customer_key
    where l.event_type = 'earn' and l.expires_on > {{ as_of_date() }}
),
left_of_earnings as (
    select customer_key, expires_on,
        least(points, greatest(0, running - spent_of_valid)) as points_left
    from valid_earnings
),
expiring as (
    select customer_key,
        sum(case when expires_on <= {{ dbt.dateadd('day', var('loyalty_points_expiring_window_days'), as_of_date()) }}
                 then points_left else 0 end) as points_expiring_soon,
        min(expires_on) as next_points_expiry_on
    from left_of_earnings
    where points_left > 0
    group by customer_key
)
select
    t.customer_key,
    {{ dbt.cast('t.points_earned', dbt.type_bigint()) }} as points_earned,
    {{ dbt.cast('t.points_redeemed', dbt.type_bigint()) }} as points_redeemed,
    {{ dbt.cast('t.points_expired', dbt.type_bigint()) }} as points_expired,
    {{ dbt.cast('t.points_balance', dbt.type_bigint()) }} as points_balance,
    t.rewards_redeemed,
    {{ dbt.cast('floor(greatest(t.points_balance, 0) / ' ~ var('loyalty_reward_points') ~ ')', dbt.type_int()) }} as rewards_available,
    {{ dbt.cast('coalesce(e.points_expiring_soon, 0)', dbt.type_bigint()) }} as points_expiring_soon,
    e.next_points_expiry_on,
    coalesce(lt.points_earned_12m, 0) as points_earned_12m,
    coalesce(lt.loyalty_tier, 'none') as loyalty_tier,
    lt.points_to_next_tier,
    {{ as_of_date() }} as as_of
from totals t
left join expiring e on e.customer_key = t.customer_key
left join {{ ref('int_loyalty') }} lt on lt.customer_key = t.customer_key
