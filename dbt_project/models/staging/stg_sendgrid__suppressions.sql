{#- SendGrid's suppression lists as of as_of. The latest snapshot pulled by then is the provider's
    whole state, so an address taken off a list in a later snapshot is no longer on it here.
    `blocks` (temporary rejections by the receiving server) are kept but carry no suppression reason. -#}
with src as (
    select * from {{ source('sendgrid_suppressions', 'suppressions') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('snapshot_at') }} < {{ as_of_end() }}
),
latest as (
    select max(snapshot_at) as snapshot_at from src
)
select distinct
    {{ normalize_email('src.email') }} as email,
    src.list as list_name,
    {{ suppression_list_reason('src.list') }} as suppression_reason,
    src.group_id,
    {{ to_utc('src.created_at') }} as suppressed_at,
    src.reason as provider_reason,
    {{ to_utc('src.snapshot_at') }} as snapshot_at
from src
inner join latest on src.snapshot_at = latest.snapshot_at
where {{ normalize_email('src.email') }} is not null
