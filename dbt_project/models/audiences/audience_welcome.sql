{#- Welcome series: people who gave email consent within the last `welcome_window_days` days (up to the
    end of as_of) and had not ordered before. Occurrence 'welcome': once per person, so a later
    re-subscribe is not welcomed again. Exit: an order since they subscribed. No products. -#}
with person_orders as (
    {{ audience_person_orders() }}
),

entries as (
    select
        cs.customer_key,
        'welcome' as occurrence,
        cs.email_consent_updated_at as triggered_at
    from {{ ref('int_consent') }} as cs
    where cs.email_consent_state = 'subscribed'
        and cs.email_consent_updated_at >= {{ dbt.dateadd('day', -var('welcome_window_days'), as_of_end()) }}
        and cs.email_consent_updated_at < {{ as_of_end() }}
        and not exists (
            select 1 from person_orders as o
            where o.customer_key = cs.customer_key and o.created_at < cs.email_consent_updated_at
        )
)

select
    {{ audience_recipient_columns() }},
    coalesce(exists (
        select 1 from person_orders as o
        where o.customer_key = e.customer_key and o.created_at >= e.triggered_at
    ), false) as exit_ordered_since_trigger,
    {{ audience_payload([], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
