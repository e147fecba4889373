{#- The email suppression reason a SendGrid suppression list implies; null for `blocks`, which are
    temporary rejections and suppress nothing. -#}
{% macro suppression_list_reason(list_column) -%}
    case {{ list_column }}
        when 'bounces' then 'bounce'
        when 'spam_reports' then 'spam_report'
        when 'invalid_emails' then 'invalid_email'
        when 'unsubscribes' then 'unsubscribe'
        when 'group_unsubscribes' then 'group_unsubscribe'
    end
{%- endmacro %}

{#- In int_consent (aliases sc = Shopify consent, conf = confirmations): the store requires SMS double
    opt-in and this subscribed consent has been confirmed neither by Shopify nor by a reply since. -#}
{% macro sms_awaiting_confirmation() -%}
    ({{ 'true' if var('sms_double_opt_in', false) else 'false' }}
        and sc.sms_consent_state = 'subscribed'
        and coalesce(sc.sms_consent_opt_in_level, '') <> 'confirmed_opt_in'
        and (conf.confirmed_at is null
            or conf.confirmed_at < coalesce(sc.sms_consent_updated_at, {{ dbt.cast("'1970-01-01'", dbt.type_timestamp()) }})))
{%- endmacro %}
