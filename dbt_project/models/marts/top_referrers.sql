{#- Customers whose referral code brought friends, best first: accepted referrals, then the friends'
    first-order net revenue. Rejected referrals are counted beside them (a high share is worth a look). -#}
with per_advocate as (
    select
        advocate_customer_key as customer_key,
        count(case when status = 'accepted' then 1 end) as accepted_referrals,
        count(case when status = 'rejected' then 1 end) as rejected_referrals,
        sum(case when status = 'accepted' then friend_net_revenue else 0 end) as friends_net_revenue,
        min(case when status = 'accepted' then ordered_at end) as first_referral_at,
        max(case when status = 'accepted' then ordered_at end) as last_referral_at
    from {{ ref('referrals') }}
    where advocate_customer_key is not null
    group by advocate_customer_key
)
select
    customer_key,
    rank() over (order by accepted_referrals desc, friends_net_revenue desc) as referrer_rank,
    accepted_referrals,
    rejected_referrals,
    {{ dbt.cast('friends_net_revenue', 'decimal(18,2)') }} as friends_net_revenue,
    first_referral_at,
    last_referral_at,
    {{ as_of_date() }} as as_of
from per_advocate
where accepted_referrals > 0
