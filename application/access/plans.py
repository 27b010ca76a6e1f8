"""Plan gating: what an account's plan allows it, decided here and nowhere else.

A plan (domain/plan.py; the catalog is the deployment's plans file) fixes how long an
account's entries are kept and whether the account may download its trail. The account's
plan is read when it matters: at ingestion for retention (an entry keeps the retention it was
recorded with), and at every export request and download for the right to download (a
downgrade closes links already handed out).
"""

from application.errors import Forbidden, PlanNotConfigured
from domain.errors import UnknownPlan
from domain.plan import Plan, PlanCatalog
from domain.retention import RetentionPolicy
from domain.tenancy import Account

EXPORT_NOT_IN_PLAN = "EXPORT_NOT_IN_PLAN"


def plan_of(account: Account, plans: PlanCatalog) -> Plan:
    """The account's plan; PlanNotConfigured if this deployment no longer defines it."""
    try:
        return plans.get(account.plan)
    except UnknownPlan:
        raise PlanNotConfigured(account.plan) from None


def retention_of(account: Account, plans: PlanCatalog) -> RetentionPolicy:
    """How long the account's entries recorded now are kept."""
    return plan_of(account, plans).auditlog.retention


def require_download(account: Account, plans: PlanCatalog) -> None:
    """FORBIDDEN (reason EXPORT_NOT_IN_PLAN) unless the account's plan includes download."""
    plan = plan_of(account, plans)
    if not plan.auditlog.can_download:
        raise Forbidden(
            f"the {plan.name} plan does not include audit log download",
            reason=EXPORT_NOT_IN_PLAN,
        )


STREAMS_NOT_IN_PLAN = "STREAMS_NOT_IN_PLAN"


def may_stream(account: Account, plans: PlanCatalog) -> bool:
    """Whether the account's plan lets it push its trail to log streams."""
    return plan_of(account, plans).auditlog.can_stream


def require_streaming(account: Account, plans: PlanCatalog) -> None:
    """FORBIDDEN (reason STREAMS_NOT_IN_PLAN) unless the account's plan includes streams:
    asked when a stream is created or resumed, and by the delivery of every batch."""
    plan = plan_of(account, plans)
    if not plan.auditlog.can_stream:
        raise Forbidden(
            f"the {plan.name} plan does not include log streams", reason=STREAMS_NOT_IN_PLAN
        )
