{#- Keep the latest version of each record: the row with the highest order_by per partition_by.
    Ties are broken by the delivery day, the file and the position in the file, so the choice is
    deterministic. Portable (window function only). -#}
{% macro latest_version(relation_sql, partition_by, order_by) -%}
    select * from (
        select
            _v.*,
            row_number() over (
                partition by {{ partition_by }}
                order by {{ order_by }}, _v.date desc, _v._source_file desc, _v._record_index desc
            ) as _version_rank
        from ({{ relation_sql }}) as _v
    ) as _ranked
    where _version_rank = 1
{%- endmacro %}

{#- Keep the first delivery of each record (exact duplicates re-delivered later). -#}
{% macro first_delivery(relation_sql, partition_by) -%}
    select * from (
        select
            _v.*,
            row_number() over (
                partition by {{ partition_by }}
                order by _v.date, _v._source_file, _v._record_index
            ) as _version_rank
        from ({{ relation_sql }}) as _v
    ) as _ranked
    where _version_rank = 1
{%- endmacro %}
