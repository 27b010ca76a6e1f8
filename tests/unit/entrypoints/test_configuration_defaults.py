"""What a user gets with no AUDITLOG_ variable set: every configuration object the service
builds from its settings, at the values README's configuration table promises. The defaults
are written once, in entrypoints/settings.py; the objects they configure take every value."""

import os
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.inbound.graphql.schema import GraphQLLimits
from adapters.outbound.mongo.client import ClientOptions
from application.access.rate_limit import AuthFailureLimits, Bucket, RateLimits
from application.integrity.sealing import SealingConfig
from application.interceptor import EmitterConfig
from entrypoints import config
from entrypoints.settings import Settings
from tests import configs


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings as the service reads them from an environment without AUDITLOG_."""
    for name in [n for n in os.environ if n.startswith("AUDITLOG_")]:
        monkeypatch.delenv(name)
    return Settings.from_env()


def test_the_interceptor_queues_10000_and_sends_batches_of_100(unset: Settings) -> None:
    assert config.emitter_config(unset) == EmitterConfig(
        capacity=10_000,
        batch_size=100,
        linger_seconds=0.05,
        max_attempts=8,
        backoff_base_seconds=0.1,
        backoff_max_seconds=10.0,
        shutdown_grace_seconds=10.0,
    )


def test_rate_limits_are_on_for_keys_and_off_for_the_operator(unset: Settings) -> None:
    assert config.rate_limits(unset) == RateLimits(
        record=Bucket(200.0, 2_000), read=Bucket(10.0, 30), enabled=True, limit_operator=False
    )
    assert config.auth_failure_limits(unset) == AuthFailureLimits(
        failures=Bucket(1.0, 20), enabled=True
    )


def test_graphql_documents_are_bounded_and_suggest_no_field_names(unset: Settings) -> None:
    assert config.graphql_limits(unset) == GraphQLLimits(
        depth=8, aliases=20, tokens=2_000, field_suggestions=False
    )


def test_seal_windows_last_a_minute_and_close_two_minutes_later(unset: Settings) -> None:
    assert config.sealing_config(unset) == SealingConfig(
        window=timedelta(minutes=1),
        grace=timedelta(minutes=2),
        lease=timedelta(minutes=2),
        expiry_tolerance=timedelta(minutes=1),
    )


def test_the_store_is_embedded_with_the_mongodb_timeouts_of_the_readme(
    unset: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = ClientOptions(
        uri=None,
        server_selection_timeout_ms=5_000,
        socket_timeout_ms=30_000,
        operation_timeout_ms=10_000,
        embedded_ttl_sweep_seconds=60.0,
    )
    assert config.client_options(unset) == expected
    # The role tool takes the same defaults, whatever the service's environment says.
    monkeypatch.setenv("AUDITLOG_MONGODB_SOCKET_TIMEOUT_MS", "1234")
    assert config.admin_client_options("mongodb://db") == replace(expected, uri="mongodb://db")


def test_an_export_link_works_for_five_minutes(unset: Settings) -> None:
    assert config.export_link_ttl(unset) == timedelta(minutes=5)


def test_the_tests_configurations_are_the_users(unset: Settings) -> None:
    assert configs.emitter_config() == config.emitter_config(unset)
    assert configs.rate_limits() == config.rate_limits(unset)
    assert configs.auth_failure_limits() == config.auth_failure_limits(unset)
    assert configs.graphql_limits() == config.graphql_limits(unset)
    assert configs.sealing_config() == config.sealing_config(unset)
    assert configs.client_options(None) == config.client_options(unset)
    assert configs.export_link_ttl() == config.export_link_ttl(unset)
