{{ config(
    materialized=delivery_materialization(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{%- set cols = ['event_id', 'session_id', 'occurred_at', 'event_type', 'customer_id', 'anonymous_id', 'url',
                'product_id', 'variant_id', 'search_query', 'referrer', 'delivered_on', '_source_file', '_record_index'] -%}
{% set new_rows %}
    select
        event_id,
        session_id,
        {{ to_utc('occurred_at') }} as occurred_at,
        event_type,
        customer_id,
        anonymous_id,
        url,
        product_id,
        variant_id,
        search_query,
        referrer,
        date as delivered_on,
        _source_file,
        _record_index
    from {{ source('web', 'events') }}
    where {{ delivered_by_as_of() }}
      and {{ to_utc('occurred_at') }} < {{ as_of_end() }}
      {{ incremental_delivery_filter() }}
{% endset %}
{{ incremental_dedupe(new_rows, 'event_id', 'delivered_on, _source_file, _record_index', cols) }}
