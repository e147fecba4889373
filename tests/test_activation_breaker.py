"""The circuit breaker's size judgement (retention.activation.breaker.size_reason): an audience more
than twice or under half its trailing median is refused, naming the sizes; small audiences swing by
nature, so two sizes both under min_size are not judged."""

from retention.activation.breaker import BreakerSettings, size_reason

SETTINGS = BreakerSettings(max_change=1.0, min_history=3, history=14, min_size=20)


def test_an_audience_within_twice_its_median_either_way_is_sent():
    for size in (500, 999, 1001, 1999, 501):
        assert size_reason(size, [1000] * 6, SETTINGS) is None, size


def test_an_audience_that_tripled_or_lost_two_thirds_is_refused_naming_the_sizes():
    reason = size_reason(3000, [1000, 990, 1010, 1000], SETTINGS)
    assert reason == ("audience size 3,000 is 3.00x its trailing median of 1,000 over 4 builds "
                      "(allowed 0.50x-2.00x)")
    assert "0.33x" in size_reason(333, [1000] * 4, SETTINGS)


def test_a_usually_tiny_audience_that_jumps_is_refused():
    """The demo's order-delay alert, one a day, went to 25 and 35 when the simulator's redeemed orders
    were never fulfilled (each read as delayed): apologies for orders that were not late."""
    earlier = [1, 0, 2, 1, 1, 1]
    assert size_reason(35, earlier, SETTINGS) == ("audience size 35 is 18.00x its trailing median of 1 "
                                                  "over 6 builds (allowed 0.50x-2.00x)")
    assert size_reason(19, earlier, SETTINGS) is None  # both under min_size: not judged


def test_two_small_sizes_are_never_judged():
    for size, typical in ((0, 19), (19, 0), (0, 0), (3, 17)):
        assert size_reason(size, [typical] * 5, SETTINGS) is None, (size, typical)


def test_a_usual_audience_that_empties_is_refused():
    assert "0.01x" in size_reason(0, [80] * 5, SETTINGS)  # 1/81: +1 keeps an empty side finite


def test_too_few_earlier_sizes_are_not_judged_and_only_the_latest_history_counts():
    assert size_reason(10_000, [10, 10], SETTINGS) is None  # min_history 3
    earlier = [1000] * 14 + [10] * 20  # newest first: the 14 newest decide
    assert size_reason(1000, earlier, SETTINGS) is None
