"""Receipts: a genuine one checks out alone against the keys, any changed byte of it does
not, and who may have one is who may read the entry."""

import copy
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from application.access.principal import Operator
from application.access.tenancy import Directory
from application.errors import NotFound
from application.integrity import proving
from application.integrity.proving import ProveEntry, check_proof
from application.services import Services
from domain.entry import AuditEntry
from domain.errors import InvalidField
from domain.integrity import seal_id
from tests.fakes import (
    FakeClock,
    HmacSealKeys,
    InMemoryAccounts,
    InMemoryApplications,
    InMemoryAuditEntries,
    InMemoryCheckpoints,
    InMemorySeals,
)
from tests.unit.application.sealing.conftest import closes, in_window, window
from tests.unit.application.support import KeyFactory

Put = Callable[..., AuditEntry]
SealAt = Callable[[datetime], Awaitable[int]]


@pytest.fixture
def prover(
    entries: InMemoryAuditEntries,
    seals: InMemorySeals,
    checkpoints: InMemoryCheckpoints,
    accounts: InMemoryAccounts,
    applications: InMemoryApplications,
    clock: FakeClock,
    services: Services,
    tenants: None,
) -> ProveEntry:
    return ProveEntry(
        entries=entries, seals=seals, checkpoints=checkpoints,
        directory=Directory(accounts, applications), clock=clock,
        limiter=services.limiter, self_audit=services.self_audit,
    )  # fmt: skip


@pytest.fixture
async def sealed(put: Put, seal_at: SealAt) -> list[AuditEntry]:
    """Five entries of acme in window 0 (two applications), one of globex; all sealed."""
    recorded = [
        put(in_window(0, s), application="acme-web" if i % 2 else "acme-mobile")
        for i, s in enumerate((3, 11, 19, 27, 35))
    ]
    put(in_window(0, 7), account="globex", application="globex-web")
    await seal_at(closes(0))
    return recorded


async def proof_of(prover: ProveEntry, entry: AuditEntry) -> dict[str, Any]:
    receipt = await prover.execute(Operator(), entry.id)
    assert receipt.entry == entry
    return receipt.proof.document()


@pytest.mark.parametrize("which", range(5))
async def test_a_genuine_receipt_checks_out_alone(
    which: int, sealed: list[AuditEntry], prover: ProveEntry, seal_keys: HmacSealKeys
) -> None:
    document = await proof_of(prover, sealed[which])
    # Through JSON, as it is handed out.
    assert check_proof(json.loads(json.dumps(document)), seal_keys) == []
    assert document["seal"]["id"] == seal_id("acme", window(0))
    assert document["leaf_count"] == 5
    # globex sealed in the same pass: its seal is a digest in the checkpoint, never named.
    assert len(document["checkpoint"]["sealed"]) == 2
    assert "globex" not in json.dumps(document)


def _edits(document: dict[str, Any]) -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    first_sibling = document["siblings"][0]
    flipped = first_sibling[:-1] + ("1" if first_sibling.endswith("0") else "0")
    return [
        ("entry field", lambda d: d["entry"].update(action="user.logout")),
        ("entry digest", lambda d: d["entry"].update(digest="00" * 32)),
        ("entry digest and field", lambda d: d["entry"].update(reason="changed")),
        ("sibling", lambda d: d["siblings"].__setitem__(0, flipped)),
        ("sibling dropped", lambda d: d["siblings"].pop()),
        ("index", lambda d: d.update(leaf_index=(d["leaf_index"] + 1) % d["leaf_count"])),
        ("count", lambda d: d.update(leaf_count=d["leaf_count"] + 1)),
        ("header root", lambda d: d["seal"].update(merkle_root="00" * 32)),
        ("header count", lambda d: d["seal"].update(count=6)),
        ("header entries digest", lambda d: d["seal"].update(entries_digest="00" * 32)),
        ("seal signature", lambda d: d["seal"].update(signature="00" * 32)),
        ("seal key", lambda d: d["seal"].update(key_id="another-key")),
        ("seal id", lambda d: d["seal"].update(id="globex/" + d["seal"]["window_start"])),
        ("checkpoint sealed through", lambda d: d["checkpoint"].update(sequence=9)),
        ("checkpoint signature", lambda d: d["checkpoint"].update(signature="00" * 32)),
        ("checkpoint lists", lambda d: d["checkpoint"].update(sealed=[])),
        ("checkpoint shape", lambda d: d["checkpoint"].pop("previous")),
        ("format", lambda d: d.update(proof=2)),
    ]


async def test_any_changed_byte_of_a_receipt_fails(
    sealed: list[AuditEntry], prover: ProveEntry, seal_keys: HmacSealKeys
) -> None:
    genuine = await proof_of(prover, sealed[2])
    for name, edit in _edits(genuine):
        document = copy.deepcopy(genuine)
        edit(document)
        assert check_proof(document, seal_keys) != [], name
    assert check_proof("not a proof", seal_keys) != []
    assert check_proof({**genuine, "entry": None}, seal_keys) != []


async def test_a_key_bound_to_one_application_has_receipts_for_its_entries_only(
    sealed: list[AuditEntry], prover: ProveEntry, key_for: KeyFactory
) -> None:
    web = await key_for("acme", "acme-web")
    mine = next(e for e in sealed if e.application == "acme-web")
    theirs = next(e for e in sealed if e.application == "acme-mobile")
    receipt = await prover.execute(web, mine.id)
    # Other entries of the window appear only as hashes.
    text = json.dumps(receipt.proof.document())
    assert theirs.id not in text
    assert theirs.digest not in text
    with pytest.raises(NotFound):
        await prover.execute(web, theirs.id)
    other = await key_for("globex")
    with pytest.raises(NotFound):
        await prover.execute(other, mine.id)


async def test_an_unsealed_or_unknown_entry_has_no_receipt(
    sealed: list[AuditEntry], prover: ProveEntry, put: Put
) -> None:
    pending = put(in_window(5))
    with pytest.raises(InvalidField) as raised:
        await prover.execute(Operator(), pending.id)
    assert raised.value.field == "id"
    with pytest.raises(NotFound):
        await prover.execute(Operator(), "0" * 24)


async def test_a_genuine_checkpoint_that_does_not_list_the_seal_fails(
    sealed: list[AuditEntry],
    prover: ProveEntry,
    seal_keys: HmacSealKeys,
    put: Put,
    seal_at: SealAt,
    checkpoints: InMemoryCheckpoints,
) -> None:
    genuine = await proof_of(prover, sealed[0])
    put(in_window(1))
    await seal_at(closes(1))
    later = await checkpoints.latest()
    assert later is not None
    assert later.sequence > genuine["checkpoint"]["sequence"]
    assert check_proof({**genuine, "checkpoint": later.document()}, seal_keys) == [
        "the checkpoint does not list this seal"
    ]


class CountingLimiter:
    """Records what each receipt spends; a bucket of `burst` tokens."""

    def __init__(self, burst: int) -> None:
        self.spent: list[int] = []
        self._burst = burst

    def take(self, principal: object, kind: str, cost: int = 1) -> None:
        assert kind == "read"
        self.spent.append(cost)

    def burst(self, principal: object, kind: str) -> int:
        return self._burst


@pytest.mark.parametrize(("burst", "extra"), [(30, 2), (2, 1)])
async def test_a_receipt_from_a_large_seal_costs_more_but_never_more_than_a_bucket(
    burst: int,
    extra: int,
    sealed: list[AuditEntry],
    prover: ProveEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(proving, "ENTRIES_PER_READ_TOKEN", 2)  # the seal's 5 entries: 2 more
    limiter = CountingLimiter(burst)
    prover._limiter = limiter  # type: ignore[assignment]
    await prover.execute(Operator(), sealed[0].id)
    assert limiter.spent == [1, extra]


async def test_a_seal_s_tree_is_built_once_for_its_receipts(
    sealed: list[AuditEntry],
    prover: ProveEntry,
    seal_keys: HmacSealKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    build = proving._build

    def counting(seal: Any) -> Any:
        built.append(seal.id)
        return build(seal)

    monkeypatch.setattr(proving, "_build", counting)
    documents = [await proof_of(prover, entry) for entry in sealed]
    assert built == [seal_id("acme", window(0))]
    assert all(check_proof(d, seal_keys) == [] for d in documents)
