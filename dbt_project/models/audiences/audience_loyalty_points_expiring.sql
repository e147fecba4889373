{#- Loyalty points expiring: some of the balance expires within `loyalty_points_expiring_window_days`
    (loyalty_balances.points_expiring_soon > 0). Occurrence: the day the oldest points expire
    (YYYY-MM-DD), one reminder per expiry day; triggered_at: the day that expiry came into the window.
    No products. -#}
with entries as (
    select
        customer_key,
        {{ audience_date_text('next_points_expiry_on') }} as occurrence,
        {{ dbt.cast(dbt.dateadd('day', -var('loyalty_points_expiring_window_days'), 'next_points_expiry_on'), dbt.type_timestamp()) }} as triggered_at
    from {{ ref('loyalty_balances') }}
    where points_expiring_soon > 0
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['points_expiring', audience_json_value('lb.points_expiring_soon')],
        ['expires_on', audience_json_value('lb.next_points_expiry_on')],
        ['points_balance', audience_json_value('lb.points_balance')],
    ], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
inner join {{ ref('loyalty_balances') }} as lb on e.customer_key = lb.customer_key
