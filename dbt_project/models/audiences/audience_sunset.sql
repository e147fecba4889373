{#- Sunset: marketable people mailed within the last `sunset_inactive_days` days who have not opened or
    clicked for that long (since their first delivery when they never did). One "still want to hear
    from us?" message; with no open or click within `sunset_grace_days` after it, int_consent
    suppresses them (reason `sunset`). Occurrence: the day the silence began, so someone who
    engages and falls silent again is asked again. No products. -#}
with silent as (
    select
        customer_key,
        coalesce(last_email_engaged_at, first_email_delivered_at) as silent_since
    from {{ ref('customers') }}
    where is_email_marketable
        and last_email_delivered_at >= {{ dbt.dateadd('day', -var('sunset_inactive_days'), as_of_end()) }}
        and coalesce(last_email_engaged_at, first_email_delivered_at)
        < {{ dbt.dateadd('day', -var('sunset_inactive_days'), as_of_end()) }}
),

entries as (
    select
        customer_key,
        {{ audience_date_text(dbt.cast('silent_since', 'date')) }} as occurrence,
        {{ dbt.dateadd('day', var('sunset_inactive_days'), 'silent_since') }} as triggered_at
    from silent
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['last_engaged_at', audience_json_value(audience_date_text(dbt.cast('c.last_email_engaged_at', 'date')))],
    ], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
