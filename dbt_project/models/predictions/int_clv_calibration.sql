{#- The holdout check's input: each customer's summary at the calibration end (as_of minus
    clv_holdout_days) and the purchase days they made after it, up to as_of. -#}
{%- set calibration_end = as_of_minus_days(var('clv_holdout_days')) -%}
with purchase_days as ({{ clv_purchase_days() }}),
calibration as ({{ clv_summary('purchase_days', calibration_end) }}),
holdout as (
    select customer_key, count(*) as frequency_holdout
    from purchase_days
    where purchase_day > {{ calibration_end }} and purchase_day <= {{ as_of_date() }}
    group by customer_key
)
select
    c.customer_key,
    c.frequency as frequency_cal,
    c.recency as recency_cal,
    c.t as t_cal,
    coalesce(h.frequency_holdout, 0) as frequency_holdout,
    {{ var('clv_holdout_days') }} / 7 as duration_holdout
from calibration c
left join holdout h on h.customer_key = c.customer_key
