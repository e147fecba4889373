{#- The R x F grid (R and F scores 1-5). -#}
{% macro rfm_segment(r, f) -%}
    case
        when {{ r }} = 5 and {{ f }} >= 4 then 'Champions'
        when {{ r }} between 3 and 4 and {{ f }} >= 4 then 'Loyal'
        when {{ r }} >= 4 and {{ f }} between 2 and 3 then 'Potential Loyalists'
        when {{ r }} = 5 and {{ f }} = 1 then 'New'
        when {{ r }} = 4 and {{ f }} = 1 then 'Promising'
        when {{ r }} = 3 and {{ f }} = 3 then 'Need Attention'
        when {{ r }} = 3 and {{ f }} <= 2 then 'About to Sleep'
        when {{ r }} <= 2 and {{ f }} = 5 then 'Can''t Lose Them'
        when {{ r }} <= 2 and {{ f }} between 3 and 4 then 'At Risk'
        else 'Hibernating'
    end
{%- endmacro %}
