{#- Products as the audiences' payloads show them: title, current price, image and page links
    (audience_product_image_url / audience_product_url follow vars product_image_url_template and
    storefront_url). One row per product. -#}
select
    product_id,
    title,
    handle,
    current_price as price,
    {{ audience_product_image_url('handle', 'product_id') }} as image_url,
    {{ audience_product_url('handle') }} as url
from {{ ref('products') }}
