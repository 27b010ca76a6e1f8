"""Plans and the catalog: lookup by name and the three default plans."""

import pytest

from domain.errors import UnknownPlan
from domain.plan import DEFAULT_PLANS, PlanCatalog, plan


def test_catalog_returns_the_plan_of_a_known_name() -> None:
    catalog = PlanCatalog([plan("gold", retention_days=30, can_download=True)])
    assert catalog.get("gold").auditlog.retention.days == 30


def test_catalog_raises_unknown_plan_for_an_unknown_name() -> None:
    with pytest.raises(UnknownPlan) as raised:
        PlanCatalog(DEFAULT_PLANS).get("platinum")
    assert raised.value.name == "platinum"


def test_catalog_lookup_is_case_sensitive() -> None:
    with pytest.raises(UnknownPlan):
        PlanCatalog(DEFAULT_PLANS).get("Pro")


@pytest.mark.parametrize(
    ("name", "days", "can_download"),
    [("free", 7, False), ("pro", 90, True), ("enterprise", 365, True)],
)
def test_default_plans_carry_their_retention_and_download_right(
    name: str, days: int, can_download: bool
) -> None:
    chosen = PlanCatalog(DEFAULT_PLANS).get(name)
    assert chosen.auditlog.retention.days == days
    assert chosen.auditlog.can_download is can_download


def test_default_plans_are_exactly_free_pro_and_enterprise() -> None:
    assert {p.name for p in DEFAULT_PLANS} == {"free", "pro", "enterprise"}


def test_catalog_lists_all_plans_by_increasing_retention() -> None:
    catalog = PlanCatalog(reversed(DEFAULT_PLANS))
    assert [p.name for p in catalog.all()] == ["free", "pro", "enterprise"]


def test_catalog_lists_plans_of_equal_retention_by_name() -> None:
    catalog = PlanCatalog(
        [
            plan("zeta", retention_days=30, can_download=False),
            plan("alpha", retention_days=30, can_download=True),
            plan("short", retention_days=1, can_download=False),
        ]
    )
    assert [p.name for p in catalog.all()] == ["short", "alpha", "zeta"]
