{#- One row per customer with a purchase on or before as_of: the models' inputs (see clv_summary). -#}
with purchase_days as ({{ clv_purchase_days() }})
{{ clv_summary('purchase_days', as_of_date()) }}
