{#- Broadcasts (one-off sends, e.g. a flash sale): every customer in at least one segment, with their
    segments. A broadcast campaign (campaigns.yml `broadcast:`) keeps the members of its segments and
    gives each row its own send time and occurrence (retention/activation/broadcasts.py): the segment
    filter and the scheduled local time are the campaign's, not the warehouse's. -#}
with entries as (
    select
        s.customer_key,
        'broadcast' as occurrence,
        cast({{ as_of_date() }} as {{ dbt.type_timestamp() }}) as triggered_at,
        {{ ordered_listagg('s.segment', "','", 's.segment') }} as segments
    from {{ ref('customer_segments') }} as s
    group by s.customer_key
)

select
    {{ audience_recipient_columns() }},
    e.segments,
    {{ audience_payload([], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
