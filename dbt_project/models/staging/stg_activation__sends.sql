{#- The send ledger as of as_of: the latest landed version of each send_id (rows landed up to as_of,
    decided before the end of as_of). Empty until the first activation run lands its ledger. -#}
with src as (
    {{ activation_sends_source() }}
),
typed as (
    select
        cast(send_id as {{ dbt.type_string() }}) as send_id,
        cast(campaign as {{ dbt.type_string() }}) as campaign,
        cast(step as {{ dbt.type_int() }}) as step,
        cast(customer_key as {{ dbt.type_string() }}) as customer_key,
        cast(occurrence as {{ dbt.type_string() }}) as occurrence,
        lower(cast(channel as {{ dbt.type_string() }})) as channel,
        lower(cast(status as {{ dbt.type_string() }})) as status,
        cast(mode as {{ dbt.type_string() }}) as mode,
        cast(batch_id as {{ dbt.type_string() }}) as batch_id,
        {{ activation_ts('decided_at') }} as decided_at,
        {{ activation_ts('sent_at') }} as sent_at,
        {{ activation_ts('not_before') }} as not_before,
        cast(provider_message_id as {{ dbt.type_string() }}) as provider_message_id,
        cast(coupon_code as {{ dbt.type_string() }}) as coupon_code,
        cast(error as {{ dbt.type_string() }}) as error,
        cast(attempts as {{ dbt.type_int() }}) as attempts,
        cast(audience_as_of as date) as audience_as_of,
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(variant as {{ dbt.type_string() }}) as variant,
        cast({{ adapter.quote('date') }} as date) as delivered_on
    from src
    where {{ delivered_by_as_of(adapter.quote('date')) }}
),
ranked as (
    select typed.*,
        row_number() over (
            partition by send_id
            order by delivered_on desc, coalesce(sent_at, decided_at) desc, coalesce(attempts, 0) desc,
                case status when 'sent' then 1 when 'suppressed' then 2 when 'dead_letter' then 3 when 'outbox' then 4
                            when 'held_out' then 5 when 'deferred' then 6 else 7 end
        ) as _version_rank
    from typed
    where decided_at < {{ as_of_end() }}
)
select
    send_id, campaign, step, customer_key, occurrence, channel, status, mode, batch_id, decided_at,
    sent_at,
    not_before, provider_message_id, coupon_code, error, attempts, audience_as_of, run_id, variant, delivered_on
from ranked
where _version_rank = 1
