{#- First-purchase anniversary within as_of .. as_of + 6 days (segment anniversary_this_week).
    Occurrence = the year of the anniversary. -#}
with entries as (
    {{ audience_segment_entries('anniversary_this_week', dbt.cast('extract(year from t.triggered_at)', dbt.type_string())) }}
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
        ['anniversary_date', audience_json_value(audience_date_text('e.triggered_at'))],
        ['first_order_date', audience_json_value('c.first_order_date')],
        ['years', audience_json_value('extract(year from e.triggered_at) - extract(year from c.first_order_date)')],
        ['order_count', audience_json_value('c.order_count')],
    ]) }} as payload
{{ audience_from_entries() }}
