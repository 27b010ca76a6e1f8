"""The configuration objects at the defaults a user gets, for tests and benchmarks.

The defaults are written once, in the settings classes (entrypoints/settings.py); the objects
they configure take every value. These build each object the way the service does
(entrypoints/config.py) from the settings' defaults, so a test derives from the one definition.
A test that depends on a value passes it: `rate_limits(enabled=False)`.
"""

from dataclasses import replace
from datetime import timedelta
from typing import Any

from adapters.inbound.graphql.schema import GraphQLLimits
from adapters.outbound.mongo.client import ClientOptions
from application.access.rate_limit import AuthFailureLimits, RateLimits
from application.integrity.sealing import SealingConfig
from application.interceptor import EmitterConfig
from entrypoints import config
from entrypoints.settings import (
    AccessSettings,
    EventSettings,
    ExportSettings,
    InterceptorSettings,
    LimitSettings,
    RateLimitSettings,
    SealSettings,
    ServerSettings,
    Settings,
    StoreSettings,
)


def default_settings() -> Settings:
    """Every setting at its default, whatever the environment holds (`model_construct`
    reads no variable)."""
    return Settings(
        server=ServerSettings.model_construct(),
        store=StoreSettings.model_construct(),
        access=AccessSettings.model_construct(),
        interceptor=InterceptorSettings.model_construct(),
        export=ExportSettings.model_construct(),
        limits=LimitSettings.model_construct(),
        rate_limits=RateLimitSettings.model_construct(),
        seals=SealSettings.model_construct(),
        events=EventSettings.model_construct(),
    )


DEFAULTS = default_settings()


def emitter_config(**changes: Any) -> EmitterConfig:
    return replace(config.emitter_config(DEFAULTS), **changes)


def rate_limits(**changes: Any) -> RateLimits:
    return replace(config.rate_limits(DEFAULTS), **changes)


def auth_failure_limits(**changes: Any) -> AuthFailureLimits:
    return replace(config.auth_failure_limits(DEFAULTS), **changes)


def sealing_config(**changes: Any) -> SealingConfig:
    return replace(config.sealing_config(DEFAULTS), **changes)


def graphql_limits(**changes: Any) -> GraphQLLimits:
    return replace(config.graphql_limits(DEFAULTS), **changes)


def client_options(uri: str | None, **changes: Any) -> ClientOptions:
    return replace(config.client_options(DEFAULTS), uri=uri, **changes)


def event_timing(**changes: Any) -> config.EventTiming:
    return replace(config.event_timing(DEFAULTS), **changes)


def event_timing_kwargs(**changes: Any) -> dict[str, Any]:
    """`Services.build`'s event-timing arguments, at their defaults unless changed."""
    timing = event_timing(**changes)
    return {"occurrence": timing.occurrence, "settle": timing.settle}


def export_link_ttl() -> timedelta:
    return config.export_link_ttl(DEFAULTS)
