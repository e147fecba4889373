{#- The per-customer summary the BG/NBD and Gamma-Gamma models take, as of a day, in weeks.
    A purchase is a day with orders (several orders on one day are one purchase, spend summed);
    spend is the order subtotal (what the store sold, before tax and shipping, net of discounts).
    frequency = purchase days - 1; recency = last - first purchase day; T = day - first purchase day;
    monetary_value = mean spend of the repeat purchase days (0 when none). -#}
{% macro clv_purchase_days() -%}
    select customer_key, order_date as purchase_day, sum(subtotal_price) as spend
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled and customer_key is not null
    group by customer_key, order_date
{%- endmacro %}

{% macro clv_summary(purchase_days, day) -%}
    select
        customer_key,
        count(*) - 1 as frequency,
        {{ dbt.datediff('min(purchase_day)', 'max(purchase_day)', 'day') }} / 7 as recency,
        {{ dbt.datediff('min(purchase_day)', day, 'day') }} / 7 as t,
        case when count(*) > 1
             then {{ dbt.cast('sum(spend) - sum(case when first_purchase then spend else 0 end)', 'double') }} / (count(*) - 1)
             else 0 end as monetary_value,
        min(purchase_day) as first_purchase_day,
        max(purchase_day) as last_purchase_day
    from (
        select p.*, purchase_day = min(purchase_day) over (partition by customer_key) as first_purchase
        from {{ purchase_days }} p
        where purchase_day <= {{ day }}
    ) x
    group by customer_key
{%- endmacro %}
