{#- The email frequency each Shopify customer's tag `email-frequency:<value>` names now, dated by the
    version that set it: an edit of anything else later moves the record's updated_at, not the
    choice. A customer whose latest version carries no such tag is absent. -#}
with versions as (
    select
        id as customer_id,
        {{ to_utc('updated_at') }} as updated_at,
        replace({{ retention.regex_extract('lower(tags)', 'email-frequency: *([a-z_-]+)') }}, '-', '_') as email_frequency,
        date as delivered_on,
        _source_file,
        _record_index
    from {{ source('shopify', 'customers') }}
    where {{ delivered_by_as_of() }} and {{ to_utc('updated_at') }} < {{ as_of_end() }}
),
ordered as (
    select
        customer_id,
        updated_at,
        email_frequency,
        lag(email_frequency) over (
            partition by customer_id order by updated_at, delivered_on, _source_file, _record_index
        ) as previous_frequency,
        row_number() over (
            partition by customer_id order by updated_at desc, delivered_on desc, _source_file desc, _record_index desc
        ) as recency
    from versions
),
current_tag as (
    select customer_id, email_frequency from ordered where recency = 1 and email_frequency is not null
)
select c.customer_id, c.email_frequency, max(o.updated_at) as tagged_at
from current_tag c
inner join ordered o
    on o.customer_id = c.customer_id
   and o.email_frequency = c.email_frequency
   and (o.previous_frequency is null or o.previous_frequency != o.email_frequency)
group by c.customer_id, c.email_frequency
