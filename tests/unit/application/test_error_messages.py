"""Application errors name the kind of thing, never the value: it may be a pasted secret."""

import pytest

from application.errors import Conflict, NotFound, PlanNotConfigured

SECRET = "alk_9f86d081884c7d65_QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ"


@pytest.mark.parametrize(
    "error",
    [NotFound("API key", SECRET), NotFound("account", SECRET), Conflict("account", SECRET),
     PlanNotConfigured(SECRET)],
    ids=["not-found-key", "not-found-account", "conflict", "plan-not-configured"],
)  # fmt: skip
def test_the_message_does_not_quote_the_value(error: Exception) -> None:
    assert SECRET not in str(error)
    assert SECRET[:12] not in str(error)


def test_the_kind_is_still_named() -> None:
    assert str(NotFound("API key", SECRET)) == "the API key named does not exist"
    assert str(Conflict("application", SECRET)) == "the application id named is already taken"
