{#- NPS promoter referral ask: latest NPS answer was a promoter (9-10) in the last nps_followup_days
    days (segment nps_promoter_referral). Occurrence = the date of that answer (YYYY-MM-DD). -#}
{{ audience(
    'nps_promoter_referral',
    occurrence=audience_date_text('t.triggered_at'),
    products='last_order',
    extra_payload=[
        ['nps_score', audience_json_value('c.latest_nps_score')],
        ['answered_at', audience_json_value('e.triggered_at')],
    ],
) }}
