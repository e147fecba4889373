{#- Email: trimmed, lower-cased; empty -> null. Portable. -#}
{% macro normalize_email(col) -%}
    nullif(lower(trim({{ col }})), '')
{%- endmacro %}

{#- Phone to E.164. Rules: a leading "+" keeps the digits as given; a leading "00" is an
    international prefix ("00 44 ..." -> +44...); 10 digits are a US number (default country
    var('default_phone_country_code'), "1"); 11 digits starting with that code get a "+".
    Anything else (too short/long) is null. -#}
{% macro normalize_phone(col) -%}
    {%- set raw = "trim(" ~ col ~ ")" -%}
    {%- set d = retention.digits_only(col) -%}
    {%- set cc = var('default_phone_country_code', '1') -%}
    case
        when {{ col }} is null or {{ dbt.length(d) }} = 0 then null
        when {{ raw }} like '+%' and {{ dbt.length(d) }} between 8 and 15 then '+' || {{ d }}
        when {{ d }} like '00%' and {{ dbt.length(d) }} between 10 and 17 then '+' || substr({{ d }}, 3)
        when {{ dbt.length(d) }} = 10 then '+{{ cc }}' || {{ d }}
        when {{ dbt.length(d) }} = 11 and {{ d }} like '{{ cc }}%' then '+' || {{ d }}
        else null
    end
{%- endmacro %}

{#- Stable surrogate key from an identifier string. -#}
{% macro key_of(expr) -%}
    {{ dbt.hash(expr) }}
{%- endmacro %}

{#- Month or day of the birthday tag: "birthday:YYYY-MM-DD" or "birthday:MM-DD". -#}
{% macro coalesce_birthday_part(tags, part) -%}
    {%- set g = 2 if part == 'month' else 3 -%}
    coalesce(
        {{ retention.regex_extract(tags, 'birthday:([0-9]{4})-([0-9]{2})-([0-9]{2})', g) }},
        {{ retention.regex_extract(tags, 'birthday:([0-9]{2})-([0-9]{2})([^0-9]|$)', g - 1) }}
    )
{%- endmacro %}
