{{ config(
    materialized=delivery_materialization(),
    unique_key='sg_event_id',
    incremental_strategy='delete+insert',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{%- set cols = ['sg_event_id', 'event_type', 'email', 'occurred_at', 'sg_message_id', 'url', 'reason', 'status',
                'bounce_type', 'bounce_classification', 'asm_group_id', 'campaign', 'step', 'send_id',
                'marketing_campaign_name', 'delivered_on', '_source_file', '_record_index'] -%}
{% set new_rows %}
    select
        coalesce(sg_event_id, _record_hash) as sg_event_id,
        lower(trim(event)) as event_type,
        {{ normalize_email('email') }} as email,
        {{ to_utc(adapter.quote('timestamp')) }} as occurred_at,
        sg_message_id,
        url,
        reason,
        status,
        bounce_type,
        bounce_classification,
        asm_group_id,
        campaign,
        step,
        send_id,
        marketing_campaign_name,
        date as delivered_on,
        _source_file,
        _record_index
    from {{ source('sendgrid', 'events') }}
    where {{ delivered_by_as_of() }}
      and {{ to_utc(adapter.quote('timestamp')) }} < {{ as_of_end() }}
      {{ incremental_delivery_filter() }}
{% endset %}
{{ incremental_dedupe(new_rows, 'sg_event_id', 'delivered_on, _source_file, _record_index', cols) }}
