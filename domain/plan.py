"""Plans and the audit log policy each one carries (the spec's `auditlog.*` keys)."""

from collections.abc import Iterable
from dataclasses import dataclass

from domain.errors import UnknownPlan
from domain.retention import RetentionPolicy


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditLogPolicy:
    """`auditlog.retention_days`, `auditlog.can_download` and `auditlog.can_stream` of a
    plan."""

    retention: RetentionPolicy
    can_download: bool
    can_stream: bool = False
    """Whether the account may push its trail to its own systems (log streams)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    name: str
    auditlog: AuditLogPolicy


def plan(name: str, *, retention_days: int, can_download: bool, can_stream: bool = False) -> Plan:
    return Plan(
        name=name,
        auditlog=AuditLogPolicy(
            retention=RetentionPolicy(retention_days),
            can_download=can_download,
            can_stream=can_stream,
        ),
    )


DEFAULT_PLANS: tuple[Plan, ...] = (
    plan("free", retention_days=7, can_download=False),
    plan("pro", retention_days=90, can_download=True, can_stream=True),
    plan("enterprise", retention_days=365, can_download=True, can_stream=True),
)


class PlanCatalog:
    """The plans this deployment offers, by name."""

    def __init__(self, plans: Iterable[Plan]) -> None:
        self._plans = {p.name: p for p in plans}

    def get(self, name: str) -> Plan:
        try:
            return self._plans[name]
        except KeyError:
            raise UnknownPlan(name) from None

    def all(self) -> list[Plan]:
        return sorted(self._plans.values(), key=lambda p: (p.auditlog.retention.days, p.name))
