{#- Addresses SendGrid took off a suppression list as of as_of: on the list in some snapshot and
    absent from the latest one. Each snapshot is the provider's whole state, so the removal
    happened by the first snapshot after the address was last listed (removed_at). A removal is
    what lifts a bounce or spam report, and it is the global or group resubscribe of the lists. -#}
with src as (
    select
        {{ normalize_email('email') }} as email,
        list as list_name,
        group_id,
        {{ to_utc('snapshot_at') }} as snapshot_at
    from {{ source('sendgrid_suppressions', 'suppressions') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('snapshot_at') }} < {{ as_of_end() }}
),

snapshots as (
    select distinct snapshot_at from src
),

last_listed as (
    select email, list_name, group_id, max(snapshot_at) as last_listed_at
    from src
    where email is not null
    group by email, list_name, group_id
)

select
    l.email,
    l.list_name,
    l.group_id,
    {{ suppression_list_reason('l.list_name') }} as suppression_reason,
    l.last_listed_at,
    min(s.snapshot_at) as removed_at
from last_listed as l
inner join snapshots as s on l.last_listed_at < s.snapshot_at
group by l.email, l.list_name, l.group_id, l.last_listed_at
