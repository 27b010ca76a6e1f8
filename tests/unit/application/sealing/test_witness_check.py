"""An export checked against what a witness holds (`check_against_witness`): the newest
window cut from the store with its seal and the checkpoints from the one that listed it
leaves an export that holds by itself; the witness, which saw that checkpoint and that seal
before the export was made, shows the cut.

acme: two entries in window 0, one in 1, two in 3, one in 4 (`populate`); the pass at
`closes(3)` writes checkpoint 1 (windows 0-3), the pass at `closes(4)` checkpoint 2 (window
4), which the witness sees a second later. Keys are real Ed25519 keys.
"""

import dataclasses
from datetime import datetime, timedelta

import pytest

from adapters.outbound.seal_keys import Ed25519SealKeys, new_signing_key
from application.integrity.offline_verify import ExportReport, verify_export
from application.integrity.witness_check import carried_seals, check_against_witness
from application.reading.criteria import LogFilter
from domain.checkpoint import SealedHead, next_checkpoint
from domain.integrity import CHECKPOINT_INVALID, SEAL_INVALID, SEAL_MISSING, Problem, seal_id
from domain.tenancy import Scope
from domain.witnessing import Witnessed, WitnessedHead
from tests.fakes import InMemoryAuditEntries, InMemoryCheckpoints, InMemorySeals
from tests.unit.application.sealing.conftest import closes, window
from tests.unit.application.sealing.export_files import Exporter
from tests.unit.application.sealing.test_offline_verify import populate
from tests.unit.application.sealing.test_offline_verify_checkpoint import (
    Put,
    SealAt,
    removed,
)
from tests.unit.application.support import KeyFactory

SEEN = timedelta(seconds=1)
"""How long after a checkpoint is written the witness accepts it."""


@pytest.fixture
def seal_keys() -> Ed25519SealKeys:
    """The service's real keys, for the sealer, the exporter and the checks."""
    return Ed25519SealKeys(new_signing_key())


@dataclasses.dataclass
class Witness:
    """What the witness holds once it saw checkpoint 2."""

    witnessed: Witnessed
    head: WitnessedHead


@pytest.fixture
async def witness(
    put: Put, seal_at: SealAt, checkpoints: InMemoryCheckpoints, seals: InMemorySeals
) -> Witness:
    await populate(put, seal_at)
    await seal_at(closes(4))
    latest = checkpoints.checkpoints[2]
    at = closes(4) + SEEN
    head = SealedHead.of(seals.seals[seal_id("acme", window(4))])
    return Witness(
        Witnessed(checkpoint=latest, witnessed_at=at, cosignature=""),
        WitnessedHead(head=head, sequence=2, checkpoint_hash=latest.hash(), witnessed_at=at),
    )


def cut(
    entries: InMemoryAuditEntries, seals: InMemorySeals, checkpoints: InMemoryCheckpoints
) -> None:
    """Window 4 removed whole, with checkpoint 2, which listed its seal."""
    removed(entries, seals, 4)
    del checkpoints.checkpoints[2]


async def exported(
    make: Exporter, keys: Ed25519SealKeys, wanted: LogFilter | None = None, **options: str
) -> tuple[ExportReport, list[str]]:
    """An export made a minute after the witness saw checkpoint 2, and its report."""
    make.clock.set(closes(4) + timedelta(minutes=1))
    lines = await make.lines(wanted, **options)
    return verify_export(lines, keys), lines


def against(
    report: ExportReport,
    lines: list[str],
    found: Witness,
    keys: Ed25519SealKeys,
    *,
    witnessed: Witnessed | None = None,
    head: WitnessedHead | None = None,
) -> list[Problem]:
    return check_against_witness(
        report, carried_seals(lines), witnessed or found.witnessed, head or found.head, keys,
        witness="https://w.example",
    )  # fmt: skip


def kinds(problems: list[Problem]) -> list[tuple[str, datetime | None]]:
    return sorted(((p.kind, p.window) for p in problems), key=str)


class TestAnUntouchedStore:
    async def test_its_export_holds_against_the_witness(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys
    ) -> None:
        report, lines = await exported(make, seal_keys)

        assert report.ok, report.problems
        assert against(report, lines, witness, seal_keys) == []

    async def test_an_export_made_before_the_witness_saw_checkpoint_2_holds(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys, seals: InMemorySeals,
        entries: InMemoryAuditEntries, checkpoints: InMemoryCheckpoints,
    ) -> None:  # fmt: skip
        """As the store was then: window 4 not sealed yet, the latest checkpoint 1."""
        cut(entries, seals, checkpoints)
        report, lines = await exported(make, seal_keys)
        later = closes(4) + timedelta(minutes=2)
        witnessed = dataclasses.replace(witness.witnessed, witnessed_at=later)
        head = dataclasses.replace(witness.head, witnessed_at=later)

        assert report.ok, report.problems
        assert against(report, lines, witness, seal_keys, witnessed=witnessed, head=head) == []

    async def test_an_export_without_seals_carries_no_checkpoint_and_is_not_judged_by_one(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys, key_for: KeyFactory
    ) -> None:
        bound = await key_for("acme", "acme-web", scopes=(Scope.EXPORT,))
        report, lines = await exported(make, seal_keys, key_id=bound.key_id)

        assert not report.carries_seals
        assert against(report, lines, witness, seal_keys) == []


class TestAStoreCutBack:
    @pytest.fixture(autouse=True)
    def _cut(
        self, witness: Witness, entries: InMemoryAuditEntries, seals: InMemorySeals,
        checkpoints: InMemoryCheckpoints,
    ) -> None:  # fmt: skip
        cut(entries, seals, checkpoints)

    async def test_holds_by_itself_and_fails_against_the_witness(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys
    ) -> None:
        report, lines = await exported(make, seal_keys)
        problems = against(report, lines, witness, seal_keys)

        assert report.ok, report.problems
        assert kinds(problems) == [(CHECKPOINT_INVALID, None), (SEAL_MISSING, window(4))]
        (invalid,) = [p.detail for p in problems if p.kind == CHECKPOINT_INVALID]
        assert invalid.startswith("the store was cut back after the witness saw checkpoint 2")
        assert "carries checkpoint 1" in invalid

    async def test_an_export_carrying_no_checkpoint_at_all_fails(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys,
        checkpoints: InMemoryCheckpoints,
    ) -> None:  # fmt: skip
        """Every checkpoint cut: the export looks made before the first sealing pass."""
        checkpoints.checkpoints.clear()
        report, lines = await exported(make, seal_keys)
        problems = against(report, lines, witness, seal_keys)

        assert report.ok, report.problems
        assert not report.carries_checkpoint
        assert kinds(problems) == [(CHECKPOINT_INVALID, None), (SEAL_MISSING, window(4))]
        assert next(p.detail for p in problems if p.kind == CHECKPOINT_INVALID).endswith(
            "carries none"
        )

    async def test_an_export_of_one_application_misses_no_seal(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys
    ) -> None:
        """Filtered, it leaves out entries a seal lists: which ones, a seal cannot tell."""
        wanted = LogFilter(account="acme", application="acme-web")
        report, lines = await exported(make, seal_keys, wanted)

        assert kinds(against(report, lines, witness, seal_keys)) == [(CHECKPOINT_INVALID, None)]

    async def test_an_export_ending_before_the_window_misses_no_seal(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys
    ) -> None:
        wanted = LogFilter(account="acme", until=window(4))
        report, lines = await exported(make, seal_keys, wanted)

        assert kinds(against(report, lines, witness, seal_keys)) == [(CHECKPOINT_INVALID, None)]

    async def test_a_seal_expired_by_export_time_is_not_missing(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys
    ) -> None:
        report, lines = await exported(make, seal_keys)
        assert report.trailer is not None
        gone = dataclasses.replace(witness.head.head, expires_at=report.trailer.exported_at)
        head = dataclasses.replace(witness.head, head=gone)

        problems = against(report, lines, witness, seal_keys, head=head)
        assert kinds(problems) == [(CHECKPOINT_INVALID, None)]


class TestWhatTheWitnessHolds:
    async def test_a_checkpoint_not_signed_by_the_service_is_invalid(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys
    ) -> None:
        report, lines = await exported(make, seal_keys)
        other = Ed25519SealKeys(new_signing_key())
        forged = witness.witnessed.checkpoint.signed(other.key_id, other.sign)
        witnessed = dataclasses.replace(witness.witnessed, checkpoint=forged)

        problems = against(report, lines, witness, seal_keys, witnessed=witnessed)
        assert [p.detail for p in problems] == [
            "checkpoint 2: witness https://w.example holds it, but it is not signed by the "
            "service's keys"
        ]

    async def test_another_checkpoint_of_the_sequence_the_export_carries_is_a_split_view(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys,
        checkpoints: InMemoryCheckpoints,
    ) -> None:  # fmt: skip
        report, lines = await exported(make, seal_keys)
        other = next_checkpoint(
            checkpoints.checkpoints[1], issued_at=closes(4), sealed_through=closes(4),
            sealed=(),
        ).signed(seal_keys.key_id, seal_keys.sign)  # fmt: skip
        assert other.hash() != witness.witnessed.checkpoint.hash()
        witnessed = dataclasses.replace(witness.witnessed, checkpoint=other)

        problems = against(report, lines, witness, seal_keys, witnessed=witnessed)
        assert [p.kind for p in problems] == [CHECKPOINT_INVALID]
        assert "split view" in problems[0].detail

    async def test_a_seal_the_file_carries_otherwise_than_the_witness_saw_is_invalid(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys
    ) -> None:
        report, lines = await exported(make, seal_keys)
        seen = dataclasses.replace(witness.head.head, seal_hash="0" * 64)
        head = dataclasses.replace(witness.head, head=seen)

        problems = against(report, lines, witness, seal_keys, head=head)
        assert kinds(problems) == [(SEAL_INVALID, window(4))]

    async def test_a_head_of_another_account_is_not_judged(
        self, witness: Witness, make: Exporter, seal_keys: Ed25519SealKeys
    ) -> None:
        report, lines = await exported(make, seal_keys)
        seen = dataclasses.replace(witness.head.head, account="globex", seal_hash="0" * 64)
        head = dataclasses.replace(witness.head, head=seen)

        assert against(report, lines, witness, seal_keys, head=head) == []
