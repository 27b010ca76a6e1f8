"""RateLimiter: a token bucket per API key and kind, on a clock the tests move by hand."""

from collections import Counter

import pytest

from application.access.principal import KeyHolder, Operator, Principal, System
from application.access.rate_limit import Bucket, RateLimiter, RateLimits
from application.errors import RateLimited
from domain.tenancy import Scope
from tests import configs
from tests.telemetry import RecordingTelemetry


class FakeMonotonic:
    """Seconds that pass only when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def key(key_id: str = "k1", account: str = "acme") -> KeyHolder:
    return KeyHolder(
        key_id=key_id,
        account=account,
        scopes=frozenset({Scope.RECORD, Scope.READ}),
    )


RECORD = Bucket(1.0, 10)
READ = Bucket(1.0, 3)


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


def limiter(
    clock: FakeMonotonic,
    *,
    record: Bucket = RECORD,
    read: Bucket = READ,
    enabled: bool = True,
    limit_operator: bool = False,
    telemetry: RecordingTelemetry | None = None,
) -> RateLimiter:
    limits = RateLimits(record=record, read=read, enabled=enabled, limit_operator=limit_operator)
    return RateLimiter(limits, telemetry=telemetry or RecordingTelemetry(), now=clock)


def allowed(rates: RateLimiter, principal: Principal, kind: str = "read", cost: int = 1) -> bool:
    try:
        rates.take(principal, kind, cost)  # type: ignore[arg-type]
    except RateLimited:
        return False
    return True


def refusal(
    rates: RateLimiter, principal: Principal, kind: str = "read", cost: int = 1
) -> RateLimited:
    with pytest.raises(RateLimited) as raised:
        rates.take(principal, kind, cost)  # type: ignore[arg-type]
    return raised.value


class TestTheBucket:
    def test_the_burst_is_allowed_at_once_then_the_next_request_is_refused(
        self, clock: FakeMonotonic
    ) -> None:
        rates = limiter(clock, read=Bucket(1.0, 3))

        assert [allowed(rates, key()) for _ in range(3)] == [True, True, True]
        assert not allowed(rates, key())

    def test_tokens_come_back_at_per_second(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, read=Bucket(2.0, 3))
        for _ in range(3):
            rates.take(key(), "read")

        clock.advance(0.4)  # 0.8 token: not yet one
        assert not allowed(rates, key())
        clock.advance(0.1)  # 1.0 token
        assert allowed(rates, key())
        assert not allowed(rates, key())
        clock.advance(1.0)  # 2 tokens
        assert [allowed(rates, key()) for _ in range(3)] == [True, True, False]

    def test_an_idle_bucket_refills_only_up_to_its_burst(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, read=Bucket(1.0, 3))
        rates.take(key(), "read")

        clock.advance(3_600)

        assert [allowed(rates, key()) for _ in range(4)] == [True, True, True, False]

    def test_a_refused_request_spends_nothing(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, read=Bucket(1.0, 3))
        for _ in range(3):
            rates.take(key(), "read")
        for _ in range(5):
            assert not allowed(rates, key())

        clock.advance(1.0)

        assert allowed(rates, key())


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("per_second", "expected"),
        [
            (0.3, 4),  # 3.33 s -> 4
            (0.5, 2),  # exactly 2 s -> 2, not 3
            (0.25, 4),  # exactly 4 s
            (2.0, 1),  # 0.5 s -> at least 1
            (1_000.0, 1),  # 1 ms -> at least 1
        ],
    )
    def test_it_is_the_ceiling_of_the_wait_and_at_least_one_second(
        self, clock: FakeMonotonic, per_second: float, expected: int
    ) -> None:
        rates = limiter(clock, read=Bucket(per_second, 1))
        rates.take(key(), "read")

        refused = refusal(rates, key())

        assert refused.retry_after_seconds == expected
        assert isinstance(refused.retry_after_seconds, int)

    def test_it_counts_the_part_of_a_token_already_refilled(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, read=Bucket(0.1, 1))
        rates.take(key(), "read")
        clock.advance(7.5)  # 0.75 token: 2.5 s to go

        assert refusal(rates, key()).retry_after_seconds == 3

    def test_waiting_as_told_is_enough(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, record=Bucket(3.0, 10))
        rates.take(key(), "record", cost=10)

        hint = refusal(rates, key(), "record", cost=7).retry_after_seconds

        assert hint == 3  # 7 tokens at 3 per second: 2.33 s
        clock.advance(hint - 1)
        assert not allowed(rates, key(), "record", cost=7)
        clock.advance(1)
        assert allowed(rates, key(), "record", cost=7)

    def test_a_batch_waits_for_all_of_its_tokens(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, record=Bucket(2.0, 100))
        rates.take(key(), "record", cost=100)

        assert refusal(rates, key(), "record", cost=1).retry_after_seconds == 1
        assert refusal(rates, key(), "record", cost=50).retry_after_seconds == 25


class TestCost:
    def test_a_batch_takes_one_token_per_event(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, record=Bucket(1.0, 10))

        assert allowed(rates, key(), "record", cost=7)
        assert not allowed(rates, key(), "record", cost=4)  # 3 left
        assert allowed(rates, key(), "record", cost=3)
        assert not allowed(rates, key(), "record", cost=1)

    def test_a_batch_larger_than_what_is_left_is_refused_whole_and_spends_nothing(
        self, clock: FakeMonotonic
    ) -> None:
        rates = limiter(clock, record=Bucket(1.0, 10))
        rates.take(key(), "record", cost=6)

        assert not allowed(rates, key(), "record", cost=5)
        assert allowed(rates, key(), "record", cost=4)

    def test_a_batch_of_the_whole_burst_fits_a_full_bucket(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, record=Bucket(1.0, 1_000))

        assert allowed(rates, key(), "record", cost=1_000)
        assert not allowed(rates, key(), "record")


class TestSeparateBuckets:
    def test_each_key_has_its_own_bucket(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, read=Bucket(1.0, 2))
        for _ in range(2):
            rates.take(key("k1"), "read")

        assert not allowed(rates, key("k1"))
        assert [allowed(rates, key("k2")) for _ in range(3)] == [True, True, False]

    def test_keys_of_the_same_account_do_not_share(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, record=Bucket(1.0, 5))
        rates.take(key("k1", "acme"), "record", cost=5)

        assert allowed(rates, key("k2", "acme"), "record", cost=5)

    def test_recording_and_reading_are_separate_buckets(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, record=Bucket(1.0, 10), read=Bucket(1.0, 2))
        for _ in range(2):
            rates.take(key(), "read")
        assert not allowed(rates, key(), "read")

        assert allowed(rates, key(), "record", cost=10)
        assert not allowed(rates, key(), "record")
        clock.advance(1.0)
        # One token came back to each bucket: reading did not wait on recording's debt.
        assert allowed(rates, key(), "read")
        assert allowed(rates, key(), "record")

    def test_each_kind_uses_its_own_settings(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, record=Bucket(1.0, 5), read=Bucket(1.0, 2))

        assert [allowed(rates, key(), "read") for _ in range(3)] == [True, True, False]
        assert [allowed(rates, key(), "record") for _ in range(6)] == [True] * 5 + [False]


class TestWhoIsLimited:
    def test_the_operator_is_exempt_by_default(self, clock: FakeMonotonic) -> None:
        telemetry = RecordingTelemetry()
        rates = limiter(clock, record=Bucket(1.0, 10), read=Bucket(1.0, 1), telemetry=telemetry)

        for _ in range(50):
            rates.take(Operator(), "read")
            rates.take(Operator(), "record", cost=10)

        assert telemetry.refused == Counter()

    def test_the_operator_is_limited_when_asked(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, record=Bucket(1.0, 10), read=Bucket(1.0, 2), limit_operator=True)

        assert [allowed(rates, Operator()) for _ in range(3)] == [True, True, False]
        assert allowed(rates, Operator(), "record", cost=10)
        assert refusal(rates, Operator(), "record").retry_after_seconds == 1

    def test_the_operator_does_not_spend_a_keys_bucket(self, clock: FakeMonotonic) -> None:
        rates = limiter(clock, read=Bucket(1.0, 2), limit_operator=True)
        for _ in range(2):
            rates.take(Operator(), "read")

        assert allowed(rates, key())

    @pytest.mark.parametrize("limit_operator", [False, True])
    def test_the_service_itself_is_never_limited(
        self, clock: FakeMonotonic, limit_operator: bool
    ) -> None:
        telemetry = RecordingTelemetry()
        rates = limiter(
            clock,
            record=Bucket(1.0, 10),
            read=Bucket(1.0, 1),
            limit_operator=limit_operator,
            telemetry=telemetry,
        )

        for _ in range(50):
            rates.take(System(), "record", cost=10)
            rates.take(System(), "read")

        assert telemetry.refused == Counter()

    def test_disabled_limits_never_refuse(self, clock: FakeMonotonic) -> None:
        telemetry = RecordingTelemetry()
        rates = limiter(
            clock,
            record=Bucket(1.0, 10),
            read=Bucket(1.0, 1),
            enabled=False,
            limit_operator=True,
            telemetry=telemetry,
        )

        for _ in range(50):
            for principal in (key(), Operator()):
                rates.take(principal, "read")
                rates.take(principal, "record", cost=10)

        assert telemetry.refused == Counter()

    def test_at_the_settings_defaults_a_key_reads_30_at_once_and_records_2000(
        self, clock: FakeMonotonic
    ) -> None:
        rates = RateLimiter(configs.rate_limits(), telemetry=RecordingTelemetry(), now=clock)

        assert [allowed(rates, key()) for _ in range(31)] == [True] * 30 + [False]
        assert allowed(rates, key(), "record", cost=2_000)
        assert not allowed(rates, key(), "record")


def test_refusals_are_counted_by_kind(clock: FakeMonotonic) -> None:
    telemetry = RecordingTelemetry()
    rates = limiter(clock, record=Bucket(1.0, 10), read=Bucket(1.0, 1), telemetry=telemetry)
    rates.take(key(), "read")
    rates.take(key(), "record", cost=10)

    for _ in range(3):
        refusal(rates, key(), "read")
    refusal(rates, key(), "record", cost=5)
    refusal(rates, key("k2"), "record", cost=11)  # more than a full bucket

    assert telemetry.refused == Counter(record=2, read=3)


def test_allowed_requests_are_not_counted_as_refused(clock: FakeMonotonic) -> None:
    telemetry = RecordingTelemetry()
    rates = limiter(clock, read=Bucket(1.0, 3), telemetry=telemetry)

    for _ in range(3):
        rates.take(key(), "read")

    assert telemetry.refused == Counter()
