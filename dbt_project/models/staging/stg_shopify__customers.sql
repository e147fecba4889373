{{ config(
    materialized=delivery_materialization(),
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ rewind_future_deliveries() }}"
) }}
{% set new_rows %}
with src as (
    select *, {{ to_utc('updated_at') }} as _updated_utc
    from {{ source('shopify', 'customers') }}
    where {{ delivered_by_as_of() }}
      {{ incremental_delivery_filter(version_col='updated_at', required=latest_ranking('customer_id')) }}
),
latest as (
    {{ latest_version("select * from src where _updated_utc < " ~ as_of_end(), "id", "_v._updated_utc desc") }}
)
select
    id as customer_id,
    {{ normalize_email('email') }} as email,
    {{ normalize_phone('phone') }} as phone,
    nullif(trim(first_name), '') as first_name,
    nullif(trim(last_name), '') as last_name,
    state as account_state,
    verified_email,
    tags,
    {{ dbt.cast(dbt.cast(retention.regex_extract('tags', 'birthday:([0-9]{4})-[0-9]{2}-[0-9]{2}'), dbt.type_int()), dbt.type_int()) }} as birthday_year,
    {{ dbt.cast(coalesce_birthday_part('tags', 'month'), dbt.type_int()) }} as birthday_month,
    {{ dbt.cast(coalesce_birthday_part('tags', 'day'), dbt.type_int()) }} as birthday_day,
    currency,
    {{ to_utc('created_at') }} as created_at,
    _updated_utc as updated_at,
    accepts_marketing,
    coalesce(email_consent_state, case when accepts_marketing then 'subscribed' else 'not_subscribed' end) as email_consent_state,
    email_consent_opt_in_level,
    {{ to_utc('email_consent_updated_at') }} as email_consent_updated_at,
    sms_consent_state,
    sms_consent_opt_in_level,
    {{ to_utc('sms_consent_updated_at') }} as sms_consent_updated_at,
    sms_consent_collected_from,
    default_address_country_code as country_code,
    default_address_province_code as province_code,
    default_address_city as city,
    {{ landed_column(source('shopify', 'customers'), 'default_address_address_key', dbt.type_string()) }} as address_key,
    date as delivered_on,
    _source_file,
    _record_hash,
    _record_index
from latest
{% endset %}
{{ keep_latest(new_rows, 'customer_id') }}
