{#- SMS consent evidence per person with an SMS consent record or keyword: when and where consent was
    given (Shopify), at what opt-in level, when and with which keyword it was confirmed, the latest
    STOP/START, and whether SMS may be sent now. What a carrier or a TCPA claim asks a sender to show. -#}
select
    c.customer_key,
    c.phone,
    cs.sms_consent_state,
    cs.sms_consent_updated_at as consented_at,
    cs.sms_consent_collected_from as collected_from,
    cs.sms_consent_opt_in_level as opt_in_level,
    cs.sms_confirmed_at as confirmed_at,
    cs.sms_confirmed_with as confirmed_with,
    cs.sms_last_keyword as last_keyword,
    cs.sms_last_keyword_at as last_keyword_at,
    cs.sms_suppression_reason,
    c.is_sms_marketable
from {{ ref('int_consent') }} as cs
inner join {{ ref('customers') }} as c on cs.customer_key = c.customer_key
where cs.sms_consent_state <> 'not_subscribed' or cs.sms_last_keyword is not null or cs.sms_confirmed_at is not null
