{#- SMS double opt-in request: subscribers whose SMS consent awaits confirmation (int_consent: var
    sms_double_opt_in, no YES reply since the consent). Occurrence: the day of the consent (the run's
    day when Shopify gave no time), so each consent is asked once. Empty while the store does not
    require double opt-in. -#}
with entries as (
    select
        customer_key,
        coalesce({{ audience_date_text('sms_suppressed_at') }}, {{ audience_date_text(as_of_date()) }}) as occurrence,
        coalesce(sms_suppressed_at, {{ dbt.cast(as_of_date(), dbt.type_timestamp()) }}) as triggered_at
    from {{ ref('int_consent') }}
    where sms_suppression_reason = 'awaiting_confirmation'
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
