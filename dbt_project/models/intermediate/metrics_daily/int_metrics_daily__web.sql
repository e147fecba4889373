{#- Web sessions per UTC day, dated by their first event. One row per day with a session. -#}
with sessions as (
    select
        session_id,
        min(occurred_at) as started_at,
        count(*) as events,
        sum(case when event_type in ('page_view', 'product_view') then 1 else 0 end) as pages
    from {{ ref('stg_web__events') }}
    where session_id is not null
    group by session_id
),

session_days as (
    select
        {{ metrics_day('started_at') }} as day,
        count(*) as sessions,
        sum(pages) as pageviews,
        sum(case when events = 1 then 1 else 0 end) as bounced_sessions
    from sessions
    group by {{ metrics_day('started_at') }}
)

select
    day,
    sessions,
    pageviews,
    bounced_sessions,
    {{ metrics_ratio('pageviews', 'sessions') }} as pages_per_session,
    {{ metrics_ratio('bounced_sessions', 'sessions') }} as bounce_rate
from session_days
