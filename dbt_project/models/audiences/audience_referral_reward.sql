{#- Referral reward: the advocate of each referral accepted in the last `referral_reward_window_days`
    days (referrals). Occurrence 'order:<the friend's order id>', one reward per friend. No products;
    the friend is named by nothing but the count. -#}
with entries as (
    select
        advocate_customer_key as customer_key,
        {{ dbt.concat(["'order:'", dbt.cast('order_id', dbt.type_string())]) }} as occurrence,
        ordered_at as triggered_at,
        referral_number
    from {{ ref('referrals') }}
    where status = 'accepted'
        and ordered_at >= {{ dbt.dateadd('day', -var('referral_reward_window_days'), as_of_end()) }}
        and ordered_at < {{ as_of_end() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['referral_number', audience_json_value('e.referral_number')],
        ['referral_code', audience_json_value('c.referral_code')],
    ], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
