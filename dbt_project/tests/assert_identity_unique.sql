-- Each identifier maps to exactly one customer_key.
select identifier_type, identifier_value, count(*) as n
from {{ ref('int_identity') }}
group by identifier_type, identifier_value
having count(*) > 1
