{#- VIP tier upgrade: reached silver, gold or platinum in the last tier_upgrade_window_days days
    (segment tier_upgrade). Occurrence = tier and date reached: '<tier>:<YYYY-MM-DD>'. No products. -#}
with entries as (
    {{ audience_segment_entries('tier_upgrade', dbt.concat(['c.loyalty_tier', "':'", audience_date_text('t.triggered_at')])) }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['tier', audience_json_value('c.loyalty_tier')],
        ['tier_reached_on', audience_json_value('c.loyalty_tier_reached_on')],
        ['net_spend_12m', audience_json_value('c.net_spend_12m')],
    ], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
