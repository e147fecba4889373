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
