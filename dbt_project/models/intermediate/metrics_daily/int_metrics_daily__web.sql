{#- Web sessions per UTC day, dated by their first event. One row per day with a session.
    Sessions are the storefront's own session_id (every event carries one), so no inactivity rule
    splits or joins them: a pause of 30 minutes or more inside a session does not start a new one.
    Duration: seconds from the first to the last event (0 for a one-event session). Pages: page and
    product views. A bounce is a session with one page view and nothing else. -#}
with sessions as (
    select
        session_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as events,
        sum(case when event_type in ('page_view', 'product_view') then 1 else 0 end) as pages,
        sum(case when event_type = 'share' then 1 else 0 end) as shares,
        max(case when {{ is_social_visit('referrer', 'url') }} then 1 else 0 end) as is_social
    from {{ ref('stg_web__events') }}
    where session_id is not null
    group by session_id
),

timed as (
    select
        *,
        {{ dbt.datediff('started_at', 'ended_at', 'second') }} as duration_seconds
    from sessions
),

session_days as (
    select
        {{ metrics_day('started_at') }} as day,
        count(*) as sessions,
        sum(pages) as pageviews,
        sum(case when events = 1 and pages = 1 then 1 else 0 end) as bounced_sessions,
        sum(duration_seconds) as session_seconds,
        {{ median('duration_seconds') }} as median_session_seconds,
        sum(is_social) as social_sessions,
        sum(shares) as shares
    from timed
    group by {{ metrics_day('started_at') }}
)

select
    day,
    sessions,
    pageviews,
    bounced_sessions,
    {{ metrics_ratio('pageviews', 'sessions') }} as pages_per_session,
    {{ metrics_ratio('bounced_sessions', 'sessions') }} as bounce_rate,
    session_seconds,
    {{ metrics_ratio('session_seconds', 'sessions') }} as mean_session_seconds,
    {{ dbt.cast('median_session_seconds', 'double') }} as median_session_seconds,
    social_sessions,
    {{ metrics_ratio('social_sessions', 'sessions') }} as social_session_rate,
    shares
from session_days
