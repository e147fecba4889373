{#- NPS promoter referral ask: latest NPS answer was a promoter (9-10) in the last nps_followup_days
    days (segment nps_promoter_referral). Occurrence = the date of that answer (YYYY-MM-DD). The ask
    shares the customer's own referral code, which only account holders have. -#}
with entries as (
    {{ audience_segment_entries('nps_promoter_referral', audience_date_text('t.triggered_at')) }}
),

entry_products as (
    {{ audience_order_products('r.last_order_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['nps_score', audience_json_value('c.latest_nps_score')],
        ['answered_at', audience_json_time('e.triggered_at')],
        ['referral_code', audience_json_value('c.referral_code')],
    ]) }} as payload
{{ audience_from_entries() }}
where c.referral_code is not null
