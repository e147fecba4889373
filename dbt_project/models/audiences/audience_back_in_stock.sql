{#- Back in stock: a product the person looked at recently was restocked (segment back_in_stock).
    Occurrence = restock month and product: '<YYYY-MM-01>:<product_id>' (the restock month's first day),
    so a product that flaps in and out of stock is announced to a person at most once a month (the send
    ledger holds each occurrence once). The ledger is not read here: activation reads these audiences,
    so reading its sends back would make the lineage circular. -#}
with entries as (
    {{ audience_segment_entries('back_in_stock', dbt.concat([
        audience_date_text(dbt.date_trunc('month', 't.triggered_at')), "':'", dbt.cast('t.product_id', dbt.type_string())
    ])) }}
),

entry_products as (
    {{ audience_trigger_products() }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['product_id', audience_json_value('e.product_id')],
        ['restocked_at', audience_json_value('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
