{#- Loyalty tiers and points (models int_loyalty_points_ledger, int_loyalty, loyalty_balances).
    Tiers are decided by trailing-12-month net spend or points earned, as var loyalty_tier_basis says
    (`spend` | `points`); each basis has its own thresholds (loyalty_tier_<tier>_min for spend,
    loyalty_tier_<tier>_points for points). -#}
{% macro loyalty_tier_thresholds() -%}
    {%- set basis = var('loyalty_tier_basis', 'spend') -%}
    {%- if basis not in ('spend', 'points') -%}
        {{ exceptions.raise_compiler_error("var loyalty_tier_basis must be 'spend' or 'points', not " ~ basis) }}
    {%- endif -%}
    {%- set suffix = '_min' if basis == 'spend' else '_points' -%}
    {{ return([('platinum', var('loyalty_tier_platinum' ~ suffix)), ('gold', var('loyalty_tier_gold' ~ suffix)),
               ('silver', var('loyalty_tier_silver' ~ suffix))]) }}
{%- endmacro %}

{% macro loyalty_tier(measure) -%}
    case
        {%- for tier, threshold in loyalty_tier_thresholds() %}
        when {{ measure }} >= {{ threshold }} then '{{ tier }}'
        {%- endfor %}
        when {{ measure }} > 0 then 'bronze'
        else 'none'
    end
{%- endmacro %}

{#- The threshold of the tier the measure is in (a hair above 0 for bronze and none). -#}
{% macro loyalty_threshold(measure) -%}
    case
        {%- for tier, threshold in loyalty_tier_thresholds() %}
        when {{ measure }} >= {{ threshold }} then {{ threshold }}
        {%- endfor %}
        else 0.01
    end
{%- endmacro %}

{#- The threshold of the next tier up (null at the top tier). -#}
{% macro loyalty_next_threshold(measure) -%}
    {%- set tiers = loyalty_tier_thresholds() | reverse | list -%}
    case
        {%- for tier, threshold in tiers %}
        when {{ measure }} < {{ threshold }} then {{ threshold }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Points an amount of money earns: var loyalty_points_per_currency_unit per unit, rounded as var
    loyalty_points_rounding says (`floor`, the default, so a refund of a cent never leaves a point;
    `round`; `ceil`). -#}
{% macro loyalty_points(amount) -%}
    {%- set rounding = var('loyalty_points_rounding', 'floor') -%}
    {%- if rounding not in ('floor', 'round', 'ceil') -%}
        {{ exceptions.raise_compiler_error("var loyalty_points_rounding must be floor, round or ceil, not " ~ rounding) }}
    {%- endif -%}
    {{ dbt.cast(rounding ~ '(' ~ amount ~ ' * ' ~ var('loyalty_points_per_currency_unit', 1) ~ ')', dbt.type_bigint()) }}
{%- endmacro %}

{#- A customer's referral code: var referral_code_prefix, '-', the first 10 hex digits (upper case) of
    the hash of 'referral:<customer_key>'; retention/referrals.py derives the same code. -#}
{% macro referral_code(customer_key) -%}
    {{ dbt.concat([dbt.string_literal(var('referral_code_prefix') | upper ~ '-'),
                   'upper(substr(' ~ dbt.hash(dbt.concat(["'referral:'", customer_key])) ~ ', 1, 10))']) }}
{%- endmacro %}
