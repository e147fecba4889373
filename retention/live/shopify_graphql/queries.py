"""The GraphQL documents: one node selection per resource, rendered for paginated pages
(``nodes`` + ``pageInfo``, ``first:`` sizes) or for a bulk operation (``edges { node }``, no sizes:
a bulk export has no page limits, so a product comes with ALL its variants).

Field names follow the Admin GraphQL API schema (2026-07). Page and nested connection sizes keep a
page's requested cost (2 + first x the node's cost, objects 1 point each) under Shopify's 1,000-point
single-query limit: an order of up to 10 lines and 10 refund lines costs about 250 points, so
orders come 3 a page; a record with more nested nodes than its page holds is fetched again whole by
a bulk operation. Should a page still cost too much (``MAX_COST_EXCEEDED``), the connector halves
its page size and asks again.
"""

from __future__ import annotations

M = "shopMoney { amount currencyCode }"
ADDRESS = "address1 address2 country countryCodeV2 province provinceCode city zip"


def conn(mode: str, name: str, first: int, body: str, args: str = "") -> str:
    if mode == "bulk":
        return f"{name}{f'({args})' if args else ''} {{ edges {{ node {{ {body} }} }} }}"
    extra = f", {args}" if args else ""
    return f"{name}(first: {first}{extra}) {{ nodes {{ {body} }} pageInfo {{ hasNextPage endCursor }} }}"


def customer(mode: str) -> str:
    # defaultEmailAddress / defaultPhoneNumber (2025-04 on) replace the deprecated email, phone and
    # email/smsMarketingConsent fields
    return (
        "id firstName lastName state verifiedEmail tags note numberOfOrders "
        "amountSpent { amount currencyCode } lastOrder { id } createdAt updatedAt taxExempt "
        "defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt } "
        "defaultPhoneNumber { phoneNumber marketingState marketingOptInLevel marketingUpdatedAt "
        "marketingCollectedFrom } "
        f"defaultAddress {{ {ADDRESS} }}"
    )


LINE_ITEM = (
    "id sku title variantTitle name vendor quantity currentQuantity unfulfilledQuantity isGiftCard "
    f"requiresShipping taxable product {{ id }} variant {{ id }} originalUnitPriceSet {{ {M} }} "
    f"totalDiscountSet {{ {M} }} discountAllocations {{ allocatedAmountSet {{ {M} }} discountApplication {{ index }} }}"
)
DISCOUNT_APPLICATION = (
    "__typename index allocationMethod targetType "
    "value { ... on MoneyV2 { amount currencyCode } ... on PricingPercentageValue { percentage } } "
    "... on DiscountCodeApplication { code }"
)
REFUND_LINE_ITEM = (
    f"id quantity restockType location {{ id }} subtotalSet {{ {M} }} totalTaxSet {{ {M} }} "
    "lineItem { id sku product { id } variant { id } }"
)
FULFILLMENT = (
    "id name status displayStatus createdAt updatedAt location { id } service { handle } "
    "trackingInfo { company number url }"
)


def order(mode: str) -> str:
    money = " ".join(f"{f} {{ {M} }}" for f in (
        "subtotalPriceSet", "totalDiscountsSet", "totalTaxSet", "totalShippingPriceSet", "totalPriceSet",
        "currentSubtotalPriceSet", "currentTotalDiscountsSet", "currentTotalTaxSet", "currentTotalPriceSet",
        "totalOutstandingSet"))
    return (
        "id name email phone customer { id } createdAt processedAt updatedAt cancelledAt cancelReason closedAt "
        "currencyCode presentmentCurrencyCode displayFinancialStatus displayFulfillmentStatus confirmed test "
        f"{money} taxesIncluded sourceName tags note customerAcceptsMarketing customerLocale discountCodes "
        f"shippingAddress {{ {ADDRESS} }} billingAddress {{ {ADDRESS} }} "
        f"{conn(mode, 'lineItems', 10, LINE_ITEM)} "
        f"{conn(mode, 'discountApplications', 5, DISCOUNT_APPLICATION)} "
        f"refunds {{ id createdAt note totalRefundedSet {{ {M} }} {conn(mode, 'refundLineItems', 10, REFUND_LINE_ITEM)} }} "
        f"fulfillments {{ {FULFILLMENT} }}"
    )


VARIANT = (
    "id title sku barcode price compareAtPrice position inventoryQuantity inventoryPolicy taxable createdAt "
    "updatedAt selectedOptions { name value } inventoryItem { id requiresShipping }"
)


def product(mode: str) -> str:
    return (
        "id title handle vendor productType status tags createdAt updatedAt publishedAt "
        f"{conn(mode, 'variants', 100, VARIANT)}"
    )


CHECKOUT_LINE = (
    f"id title variantTitle sku quantity product {{ id }} variant {{ id }} originalUnitPriceSet {{ {M} }} "
    f"originalTotalPriceSet {{ {M} }}"
)


def checkout(mode: str) -> str:
    # AbandonedCheckout has no currency fields of its own: the totals' MoneyBags carry them
    money = " ".join(f"{f} {{ {M} }}" for f in (
        "subtotalPriceSet", "totalLineItemsPriceSet", "totalDiscountSet", "totalTaxSet"))
    return (
        "id name abandonedCheckoutUrl createdAt updatedAt completedAt customer { id } taxesIncluded "
        f"{money} totalPriceSet {{ {M} presentmentMoney {{ currencyCode }} }} discountCodes "
        f"shippingAddress {{ {ADDRESS} }} "
        f"{conn(mode, 'lineItems', 25, CHECKOUT_LINE)}"
    )


def location(mode: str) -> str:
    return ("id name isActive createdAt updatedAt "
            "address { address1 address2 city zip province provinceCode country countryCode phone }")


LEVEL = 'id updatedAt item { id tracked } location { id } quantities(names: ["available"]) { name quantity }'

# resource -> (root field, node selection, page size, takes an updated_at query, root arguments)
RESOURCES: dict[str, tuple[str, object, int, bool, str]] = {
    "customers": ("customers", customer, 100, True, ""),
    "orders": ("orders", order, 3, True, ""),
    "products": ("products", product, 4, True, ""),
    "checkouts": ("abandonedCheckouts", checkout, 4, True, ""),
    "locations": ("locations", location, 100, False, "includeInactive: true, includeLegacy: true"),
    "inventory_levels": ("inventoryLevels", None, 100, True, ""),
}
LEVELS_PAGE_SIZE = 100


def page_query(resource: str, first: int) -> str:
    field, select, _, filtered, args = RESOURCES[resource]
    params = "$first: Int!, $after: String" + (", $query: String" if filtered else "")
    call = "first: $first, after: $after" + (", query: $query" if filtered else "") + (f", {args}" if args else "")
    return (f"query {field.capitalize()}Page({params}) {{ {field}({call}) "
            f"{{ nodes {{ {select('page')} }} pageInfo {{ hasNextPage endCursor }} }} }}")


LEVELS_QUERY = (
    "query LocationLevels($id: ID!, $first: Int!, $after: String, $query: String) { location(id: $id) { id "
    "inventoryLevels(first: $first, after: $after, query: $query) "
    f"{{ nodes {{ {LEVEL} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
)


def bulk_query(resource: str, search: str | None) -> str:
    """The query a bulk operation runs (a string argument of ``bulkOperationRunQuery``)."""
    field, select, _, filtered, args = RESOURCES[resource]
    arguments = ", ".join(a for a in (f"query: {_quote(search)}" if search and filtered else "", args) if a)
    body = select("bulk")
    if resource == "locations":  # every location with every level of it
        body += " " + conn("bulk", "inventoryLevels", 0, LEVEL)
    return f"{{ {field}{f'({arguments})' if arguments else ''} {{ edges {{ node {{ {body} }} }} }} }}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


RUN_BULK = (
    "mutation RunBulk($query: String!) { bulkOperationRunQuery(query: $query) "
    "{ bulkOperation { id status } userErrors { field message } } }"
)
POLL_BULK = (
    "query PollBulk($id: ID!) { node(id: $id) { ... on BulkOperation "
    "{ id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl } } }"
)


def search_filter(since: str | None, until: str | None, ids: list[int] | None = None) -> str | None:
    """Shopify search syntax: ``updated_at:>='since' AND updated_at:<='until'`` (inclusive, as the REST
    ``updated_at_min`` is: records of the cursor's very second come again), or ``id:1 OR id:2``."""
    if ids:
        return " OR ".join(f"id:{i}" for i in ids)
    parts = []
    if since:
        parts.append(f"updated_at:>='{since}'")
    if until:
        parts.append(f"updated_at:<='{until}'")
    return " AND ".join(parts) or None
