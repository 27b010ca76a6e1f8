"""A checkpoint signs digests of the seals it lists; the heads go beside it, all of them
where it is stored, one account's where it is published to that account."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.checkpoint import Checkpoint, SealedHead, next_checkpoint

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def head(account: str, minute: int) -> SealedHead:
    start = T0 + timedelta(minutes=minute)
    return SealedHead(
        account=account,
        seal_id=f"{account}/{start.isoformat()}",
        window_start=start,
        seal_hash=f"{minute:064x}",
        expires_at=T0 + timedelta(days=90),
    )


CHECKPOINT = next_checkpoint(
    None,
    issued_at=T0,
    sealed_through=T0 + timedelta(minutes=2),
    sealed=(head("acme", 0), head("globex", 0), head("acme", 1)),
).signed("k1", lambda message: "sig")


def test_it_signs_digests_and_names_no_account_in_its_body() -> None:
    body = CHECKPOINT.body()
    assert body["sealed"] == [h.digest() for h in CHECKPOINT.sealed]
    assert "acme" not in str(body)
    assert body["expires_at"] == "2026-04-15T12:00:00.000+00:00"


def test_a_published_copy_carries_one_account_s_heads_and_the_same_signed_body() -> None:
    published = CHECKPOINT.document("acme")
    assert "globex" not in str(published)
    read = Checkpoint.from_document(published)
    assert read.hash() == CHECKPOINT.hash()
    assert read.message() == CHECKPOINT.message()
    assert read.sealed == (head("acme", 0), head("acme", 1))
    assert not read.whole  # a copy for one account, not what a store keeps
    assert Checkpoint.from_document(CHECKPOINT.document()) == CHECKPOINT
    assert CHECKPOINT.whole


def test_a_head_it_does_not_list_is_refused() -> None:
    document = CHECKPOINT.document("acme")
    document["heads"].append(head("acme", 5).row())
    with pytest.raises(ValueError, match="does not list"):
        Checkpoint.from_document(document)
