{#- Per campaign and step as of as_of: ledger outcomes, provider engagement, conversions, last-touch
    attributed revenue, redemptions of the campaign's discount codes with the revenue they attribute
    by code, and treated-vs-holdout lift.
    Lift = treated conversion rate - holdout conversion rate (records of the same campaign and step;
    holdout records are written when a sequence's first step is due, so lift sits on step 1 rows).
    95% confidence interval: difference of two proportions, normal approximation (Wald):
    lift +/- 1.96 * sqrt(p_t (1 - p_t) / n_t + p_h (1 - p_h) / n_h); null when either group is empty. -#}
with s as (
    select * from {{ ref('campaign_sends') }}
),
agg as (
    select
        campaign,
        step,
        count(*) as ledger_records,
        sum(case when status = 'sent' then 1 else 0 end) as sent,
        sum(case when status = 'outbox' then 1 else 0 end) as outboxed,
        sum(case when is_treated then 1 else 0 end) as treated,
        count(distinct case when is_treated then customer_key end) as recipients,
        sum(case when is_holdout then 1 else 0 end) as held_out,
        sum(case when status = 'deferred' then 1 else 0 end) as deferred,
        sum(case when status = 'dead_letter' then 1 else 0 end) as dead_lettered,
        sum(case when status = 'suppressed' then 1 else 0 end) as suppressed,
        sum(case when status = 'claimed' then 1 else 0 end) as in_doubt,
        sum(case when is_delivered then 1 else 0 end) as delivered,
        sum(case when is_opened then 1 else 0 end) as opened,
        sum(case when is_clicked then 1 else 0 end) as clicked,
        sum(case when is_bounced then 1 else 0 end) as bounced,
        sum(case when is_treated and converted then 1 else 0 end) as converted,
        sum(case when is_holdout and converted then 1 else 0 end) as holdout_converted,
        sum(attributed_orders) as attributed_orders,
        sum(attributed_revenue) as attributed_revenue
    from s
    group by campaign, step
),
redeemed as (
    select campaign as redeemed_campaign, step as redeemed_step, count(*) as redemptions, sum(revenue) as code_attributed_revenue,
           sum(discount_amount) as redeemed_discount
    from {{ ref('redemptions') }}
    where not is_cancelled
    group by campaign, step
),
rates as (
    select agg.*,
        {{ metrics_ratio('converted', 'treated') }} as treated_conversion_rate,
        {{ metrics_ratio('holdout_converted', 'held_out') }} as holdout_conversion_rate
    from agg
),
lift as (
    select rates.*,
        case when treated > 0 and held_out > 0 then treated_conversion_rate - holdout_conversion_rate end as lift,
        case when treated > 0 and held_out > 0 then sqrt(
            treated_conversion_rate * (1 - treated_conversion_rate) / treated
            + holdout_conversion_rate * (1 - holdout_conversion_rate) / held_out) end as lift_std_error
    from rates
)
select
    {{ dbt.concat(['campaign', "'#'", dbt.cast('step', dbt.type_string())]) }} as campaign_step_key,
    campaign,
    step,
    ledger_records,
    sent,
    outboxed,
    treated,
    held_out,
    deferred,
    dead_lettered,
    suppressed,
    in_doubt,
    delivered,
    opened,
    clicked,
    bounced,
    converted,
    holdout_converted,
    attributed_orders,
    {{ dbt.cast('attributed_revenue', 'decimal(18,2)') }} as attributed_revenue,
    recipients,
    {{ metrics_ratio('attributed_revenue', 'recipients') }} as revenue_per_recipient,
    coalesce(r.redemptions, 0) as redemptions,
    {{ dbt.cast('coalesce(r.code_attributed_revenue, 0)', 'decimal(18,2)') }} as code_attributed_revenue,
    {{ dbt.cast('coalesce(r.redeemed_discount, 0)', 'decimal(18,2)') }} as redeemed_discount,
    {{ metrics_ratio('delivered', 'treated') }} as delivery_rate,
    {{ metrics_ratio('opened', 'delivered') }} as open_rate,
    {{ metrics_ratio('clicked', 'delivered') }} as click_rate,
    treated_conversion_rate,
    holdout_conversion_rate,
    lift,
    lift_std_error,
    lift - 1.96 * lift_std_error as lift_ci_lower,
    lift + 1.96 * lift_std_error as lift_ci_upper,
    {{ as_of_date() }} as as_of
from lift
left join redeemed r on r.redeemed_campaign = lift.campaign and r.redeemed_step = lift.step
