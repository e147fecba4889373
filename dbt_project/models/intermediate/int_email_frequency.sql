{#- How often each person wants marketing email (retention/preferences.py): the latest choice from the
    Shopify customer tag `email-frequency:<value>` (dated by the version that set it) or the preference
    centre's drop file (submitted_at). People who never chose are absent (as usual). -#}
with ids as (select * from {{ ref('int_identity') }}),
tagged as (
    select i.customer_key, t.tagged_at as chosen_at, t.email_frequency, 'shopify_tag' as source
    from {{ ref('stg_shopify__customer_frequency_tags') }} t
    inner join ids i on i.identifier_type = 'shopify_customer_id' and i.identifier_value = cast(t.customer_id as {{ dbt.type_string() }})
),
submitted as (
    select coalesce(by_id.customer_key, by_email.customer_key) as customer_key, p.submitted_at as chosen_at,
        p.email_frequency, 'preference_centre' as source
    from {{ ref('stg_preferences__preferences') }} p
    left join ids by_id on by_id.identifier_type = 'shopify_customer_id'
        and by_id.identifier_value = cast(p.customer_id as {{ dbt.type_string() }})
    left join ids by_email on by_email.identifier_type = 'email' and by_email.identifier_value = p.email
),
choices as (
    select * from tagged
    where email_frequency in ('as_usual', 'weekly', 'monthly', 'order_updates_only')
    union all
    select * from submitted where customer_key is not null
)
select customer_key, email_frequency, chosen_at as email_frequency_chosen_at, source as email_frequency_source
from (
    select *, row_number() over (partition by customer_key order by chosen_at desc, source) as rn
    from choices
) x
where rn = 1
