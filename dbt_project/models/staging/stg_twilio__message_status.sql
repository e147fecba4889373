{{ config(
    materialized=delivery_materialization(),
    unique_key='status_event_id',
    incremental_strategy='delete+insert',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{#- One row per message and status, the first delivery of it. Incremental like the other event
    tables: a run re-reads the last lookback_days of deliveries and keeps, per key, the row a full
    refresh would keep. -#}
{%- set cols = ['status_event_id', 'message_sid', 'status', 'error_code', 'from_phone', 'to_phone', 'received_at',
                'delivered_on', '_source_file', '_record_index'] -%}
{% set new_rows %}
    select
        message_sid || '-' || status as status_event_id,
        message_sid,
        status,
        error_code,
        {{ normalize_phone(adapter.quote('from')) }} as from_phone,
        {{ normalize_phone(adapter.quote('to')) }} as to_phone,
        {{ to_utc('received_at') }} as received_at,
        date as delivered_on,
        _source_file,
        _record_index
    from {{ source('twilio', 'message_status') }}
    where {{ delivered_by_as_of() }}
      and {{ to_utc('received_at') }} < {{ as_of_end() }}
      {{ incremental_delivery_filter() }}
{% endset %}
{{ incremental_dedupe(new_rows, 'status_event_id', 'delivered_on, _source_file, _record_index', cols) }}
