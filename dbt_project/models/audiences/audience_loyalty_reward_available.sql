{#- Loyalty reward available: the points balance buys a reward (loyalty_balances.rewards_available > 0,
    `loyalty_reward_points` each). Occurrence 'reward:<n>', n = the customer's rewards redeemed + 1, so
    each reward is offered once and its discount code (campaign `loyalty_reward_available`, prefix
    `loyalty_reward_code_prefix`) is spent by the order that quotes it. triggered_at: the day the
    balance reached the reward since the last redemption. No products. -#}
with balances as (
    select * from {{ ref('loyalty_balances') }} where rewards_available > 0
),

last_redemption as (
    select customer_key, max(event_date) as redeemed_on
    from {{ ref('int_loyalty_points_ledger') }}
    where event_type = 'redeem'
    group by customer_key
),

reached as (
    select l.customer_key, min(l.event_date) as reached_on
    from {{ ref('int_loyalty_points_ledger') }} as l
    left join last_redemption as r on l.customer_key = r.customer_key
    where l.balance_after >= {{ var('loyalty_reward_points') }}
        and (r.redeemed_on is null or l.event_date >= r.redeemed_on)
    group by l.customer_key
),

entries as (
    select
        b.customer_key,
        {{ dbt.concat(["'reward:'", dbt.cast('b.rewards_redeemed + 1', dbt.type_string())]) }} as occurrence,
        {{ dbt.cast('coalesce(rc.reached_on, b.as_of)', dbt.type_timestamp()) }} as triggered_at
    from balances as b
    left join reached as rc on b.customer_key = rc.customer_key
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['points_balance', audience_json_value('lb.points_balance')],
        ['reward_points', audience_json_value(var('loyalty_reward_points'))],
        ['rewards_available', audience_json_value('lb.rewards_available')],
        ['next_points_expiry_on', audience_json_value('lb.next_points_expiry_on')],
        ['loyalty_tier', audience_json_value('c.loyalty_tier')],
    ], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
inner join {{ ref('loyalty_balances') }} as lb on e.customer_key = lb.customer_key
