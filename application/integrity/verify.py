"""Use case: check an account's trail against its seals.

Reported: an entry changed since it was sealed (MODIFIED), a sealed entry gone before its
`expires_at` (MISSING), an entry in a closed window that no seal lists (INJECTED), a seal
gone before its `expires_at` (SEAL_MISSING: its successor links to it, or a checkpoint lists
it), a seal whose signature, Merkle root or link to its predecessor does not hold, or that
is not the seal a checkpoint lists (SEAL_INVALID), and a checkpoint whose signature or link
to the one before it does not hold (CHECKPOINT_INVALID). What expired is not flagged, in
whatever order the TTL monitor removed it.

Which windows are closed is read from the latest checkpoint whose signature holds, never
from the sealer's unsigned progress: an entry dated in a stretch the checkpoint says is
sealed that no seal lists is INJECTED, whether the account recorded anything there or not.
"""

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from application.access.principal import Principal
from application.access.rate_limit import RateLimiter
from application.access.tenancy import account_to_verify
from application.integrity.witnessing import WitnessUnavailable
from application.ports import (
    Accounts,
    AuditEntryRepository,
    Checkpoints,
    Clock,
    DatabaseClock,
    SealKeys,
    Seals,
)
from application.reading.criteria import EntryCriteria
from application.self_audit import VERIFIED, SelfAudit
from domain.checkpoint import Checkpoint, SealedHead
from domain.entry import AuditEntry
from domain.errors import InvalidField
from domain.integrity import (
    CHECKPOINT_INVALID,
    INJECTED,
    SEAL_INVALID,
    SEAL_MISSING,
    WITNESS_UNAVAILABLE,
    Findings,
    Problem,
    Seal,
    window_of,
)
from domain.seal_verdict import Absence, Held, judge_seal

# A verification costs one read token per this many seals and entries it checks (at least one):
# aliasing it, or asking for a long range, costs what the separate requests would.
ENTRIES_PER_READ_TOKEN = 1_000
# Checking is CPU work (a digest per entry): hand the event loop back this often, so one
# long verification does not hold up /healthz or other requests.
YIELD_EVERY = 200


_EDITED_HEADS = "the seals stored beside it are not the ones it lists: they were edited"


class WitnessView(Protocol):
    """What a witness holds of this service's chain, as the verifier asks it."""

    @property
    def name(self) -> str: ...

    async def checkpoint(self) -> Checkpoint | None:
        """The last checkpoint it accepted; None if none yet. `WitnessUnavailable` if it
        does not answer."""

    async def head(self, account: str) -> SealedHead | None:
        """The newest seal of `account` a checkpoint it accepted listed; None if none."""


class VerifyAuditLogs:
    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        seals: Seals,
        checkpoints: Checkpoints,
        keys: SealKeys,
        accounts: Accounts,
        clock: Clock,
        limiter: RateLimiter,
        self_audit: SelfAudit,
        expiry_tolerance: timedelta,
        database_clock: DatabaseClock | None = None,
        witnesses: Sequence[WitnessView] = (),
    ) -> None:
        self._witnesses = witnesses
        self._tolerance = expiry_tolerance
        self._database_clock = database_clock
        self._entries = entries
        self._seals = seals
        self._checkpoints = checkpoints
        self._keys = keys
        self._accounts = accounts
        self._clock = clock
        self._limiter = limiter
        self._self_audit = self_audit

    async def execute(
        self,
        principal: Principal,
        *,
        account: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Findings:
        # Before the audit scope, as for reads: a flood of refusals must not flood the trail.
        self._limiter.take(principal, "read")
        with self._self_audit.viewed(principal, VERIFIED):
            if since is not None and until is not None and since >= until:
                raise InvalidField("until", "must be later than since")
            account = await account_to_verify(principal, account, self._accounts)
            now = self._clock.now()
            database_now = (
                None if self._database_clock is None else await self._database_clock.database_now()
            )
            run = _Run(
                entries=self._entries, seals=self._seals, checkpoints=self._checkpoints,
                keys=self._keys,
                limiter=self._limiter, principal=principal, account=account,
                now=now, tolerance=self._tolerance, witnesses=self._witnesses,
            )  # fmt: skip
            # Gone is fine for whatever has expired by the clock the store expires by.
            expiry_clock = now if database_now is None else database_now
            run.judge_expiry_at(expiry_clock, "service" if database_now is None else "database")
            await run.check(since, until)
            return run.findings


class _Run:
    """One verification: walks the seals in window order, with what it has found so far."""

    def __init__(
        self,
        *,
        entries: AuditEntryRepository,
        seals: Seals,
        checkpoints: Checkpoints,
        keys: SealKeys,
        limiter: RateLimiter,
        principal: Principal,
        account: str,
        now: datetime,
        tolerance: timedelta,
        witnesses: Sequence[WitnessView] = (),
    ) -> None:
        self._witnesses = witnesses
        self._reported: set[tuple[str, datetime | None]] | None = None
        self._entries = entries
        self._seals = seals
        self._checkpoints = checkpoints
        self._keys = keys
        self._limiter = limiter
        self._principal = principal
        self._account = account
        self._now = now
        self._tolerance = tolerance
        self._expired_before = now + tolerance
        self._read = 0
        self._paid_for = 0
        self.findings = Findings()

    def judge_expiry_at(self, moment: datetime, clock: str) -> None:
        """Judge what is gone by `moment` on the named clock, within the tolerance."""
        self._expired_before = moment + self._tolerance
        self.findings.checked_at = moment
        self.findings.clock = clock

    async def check(self, since: datetime | None, until: datetime | None) -> None:
        # The checkpoint first: the sealer writes a window's seal before the checkpoint that
        # moves past it, so every window behind it has its seal in what is read next. Read
        # after the seals, a pass in between would make the window it sealed look closed
        # without a seal, and its entries injected.
        checkpoint = await self._trusted_checkpoint()
        sealed_through = None if checkpoint is None else checkpoint.sealed_through
        witnessed = await self._witnessed()
        for _, held in witnessed:
            # A witness may hold a checkpoint the store lost (its newest ones cut).
            if held is not None and (
                sealed_through is None or held.sealed_through > sealed_through
            ):
                sealed_through = held.sealed_through
        seals = await self._seals.in_range(self._account, since, until)
        self._paid_for = self._charge(seals)
        previous = None
        if seals and seals[0].previous is not None:
            previous = await self._seals.get(seals[0].previous.seal_id)
        # A live entry keeps its window's seal alive, and the sealer closes windows in order:
        # a live entry in a closed window before the newest seal that no seal lists was added
        # afterwards, whether the seals around it are linked or (one having expired) not.
        gap_start = since if previous is None else previous.window_end
        for seal in seals:
            await asyncio.sleep(0)  # a signature check per seal: let others in between
            length = seal.window_end - seal.window_start
            verdict = judge_seal(
                seal,
                signature_ok=self._keys.verify(seal.key_id, seal.message(), seal.signature),
                predecessor=previous,
                predecessor_gone_after=self._expired_before,
                held=await self._held(seal),
                absent=Absence(self._expired_before, "a live entry is gone"),
            )
            self.findings.problems += verdict.problems
            self.findings.windows_checked += 1
            self.findings.entries_verified += len(verdict.verified)
            missing = verdict.predecessor_gone
            skip = None if missing is None else (missing, missing + length)
            await self._flag_unsealed(gap_start, seal.window_start, length, skip=skip)
            previous, gap_start = seal, seal.window_end
        if checkpoint is not None:
            await self._check_listed(seals, checkpoint, since, until)
        await self._check_heads(seals, witnessed, since, until)
        await self._check_tail(previous, since, until, sealed_through)

    async def _trusted_checkpoint(self) -> Checkpoint | None:
        """The latest checkpoint, if its signature and its link to the one before it hold;
        otherwise reported, and no window counts as closed."""
        latest = await self._checkpoints.latest()
        if latest is None:
            return None
        if not self._signed(latest):
            self._checkpoint_invalid(latest, "its signature does not verify")
            return None
        if not latest.whole:
            self._checkpoint_invalid(latest, _EDITED_HEADS)
            return None
        if latest.sequence == 1:
            return latest
        before = await self._checkpoints.get(latest.sequence - 1)
        if before is None:
            gone_early = (
                latest.previous_expires_at is None
                or latest.previous_expires_at > self._expired_before
            )
            if gone_early:
                self._checkpoint_invalid(
                    latest, "the checkpoint before it is gone before its expiry"
                )
                return None
        elif latest.previous != before.hash():
            self._checkpoint_invalid(latest, "it does not link to the checkpoint before it")
            return None
        elif not before.whole:
            self._checkpoint_invalid(before, _EDITED_HEADS)
            return None
        return latest

    async def _check_listed(
        self,
        seals: list[Seal],
        latest: Checkpoint,
        since: datetime | None,
        until: datetime | None,
    ) -> None:
        """Every seal of the range a checkpoint lists is there, as listed, until it expires:
        the newest window cut together with its seal and entries is reported here (a seal
        its successor's link or its own signature reported already is not reported again)."""
        held = {seal.id: seal for seal in seals}
        # From the newest seal held on: one gone before it is reported by its successor's
        # link already, and the checkpoints of a long range need not all be read (each
        # lists every account sealed in its step).
        tail = since if not seals else _latest(since, seals[-1].window_start)
        for checkpoint in await self._checkpoints.listing(self._account, tail, until):
            if checkpoint.sequence > latest.sequence:
                continue  # written after the seals were read: its seals may be newer
            if not self._signed(checkpoint):
                self._checkpoint_invalid(checkpoint, "its signature does not verify")
                continue
            if not checkpoint.whole:
                self._checkpoint_invalid(checkpoint, _EDITED_HEADS)
                continue
            for head in checkpoint.heads_of(self._account):
                self._compare_head(
                    head, held, since, until, f"checkpoint {checkpoint.sequence} lists"
                )

    async def _check_heads(
        self,
        seals: list[Seal],
        witnessed: list[tuple[WitnessView, Checkpoint | None]],
        since: datetime | None,
        until: datetime | None,
    ) -> None:
        """The newest seal each witness saw for the account is there, as it saw it."""
        held = {seal.id: seal for seal in seals}
        for witness, _ in witnessed:
            try:
                head = await witness.head(self._account)
            except WitnessUnavailable as exc:
                self.findings.problems.append(Problem(WITNESS_UNAVAILABLE, str(exc)))
                continue
            if head is not None and head.account == self._account:
                self._compare_head(head, held, since, until, f"witness {witness.name} saw")

    def _compare_head(
        self,
        head: SealedHead,
        held: dict[str, Seal],
        since: datetime | None,
        until: datetime | None,
        source: str,
    ) -> None:
        """A seal `source` (a checkpoint, a witness) names is there until it expires, as
        named; not reported again at a window reported already (by a successor's link)."""
        if (since is not None and head.window_start < since) or (
            until is not None and head.window_start >= until
        ):
            return
        seal = held.get(head.seal_id)
        if seal is None and head.expires_at > self._expired_before:
            problem = Problem(SEAL_MISSING, f"a seal {source} is gone before its expiry",
                              None, head.window_start)  # fmt: skip
        elif seal is not None and seal.hash() != head.seal_hash:
            problem = Problem(SEAL_INVALID, f"the seal is not the one {source}",
                              None, head.window_start)  # fmt: skip
        else:
            return
        if self._reported is None:  # every seal was judged by now: what they reported
            self._reported = {(p.kind, p.window) for p in self.findings.problems}
        if (problem.kind, problem.window) not in self._reported:
            self._reported.add((problem.kind, problem.window))
            self.findings.problems.append(problem)

    async def _witnessed(self) -> list[tuple[WitnessView, Checkpoint | None]]:
        """Each witness's last checkpoint, checked against the store's of that sequence: one
        the store lacks before its expiry, or holds differently, is CHECKPOINT_INVALID (the
        newest checkpoints cut, or a split view); a witness that does not answer is
        WITNESS_UNAVAILABLE, so a verification that could not ask it never passes."""
        views: list[tuple[WitnessView, Checkpoint | None]] = []
        for witness in self._witnesses:
            try:
                held = await witness.checkpoint()
            except WitnessUnavailable as exc:
                self.findings.problems.append(Problem(WITNESS_UNAVAILABLE, str(exc)))
                continue
            if held is not None and not self._signed(held):
                self._checkpoint_invalid(held, f"witness {witness.name} holds it, but it does "
                                         "not verify")  # fmt: skip
                held = None
            if held is not None:
                stored = await self._checkpoints.get(held.sequence)
                if stored is None and held.expires_at > self._expired_before:
                    self._checkpoint_invalid(held, f"witness {witness.name} accepted it, and "
                                             "the store no longer has it: the newest "
                                             "checkpoints were cut")  # fmt: skip
                elif stored is not None and stored.hash() != held.hash():
                    self._checkpoint_invalid(held, f"the store holds another than the one "
                                             f"witness {witness.name} accepted")  # fmt: skip
            views.append((witness, held))
        return views

    def _signed(self, checkpoint: Checkpoint) -> bool:
        return self._keys.verify(checkpoint.key_id, checkpoint.message(), checkpoint.signature)

    def _checkpoint_invalid(self, checkpoint: Checkpoint, why: str) -> None:
        self.findings.problems.append(
            Problem(CHECKPOINT_INVALID, f"checkpoint {checkpoint.sequence}: {why}")
        )

    def _charge(self, seals: list[Seal]) -> int:
        """Spend the tokens for the seals and sealed entries a verification will check,
        before it does: the request's own token covers the first thousand, each further
        thousand costs one more. Returns how many entries are paid for."""
        work = len(seals) + sum(len(seal.entries) for seal in seals)
        extra = max(0, math.ceil(work / ENTRIES_PER_READ_TOKEN) - 1)
        if extra:
            burst = self._limiter.burst(self._principal, "read")
            if burst is not None and extra + 1 > burst:
                raise InvalidField(
                    "until",
                    f"the range holds more sealed entries than one verification may check "
                    f"({burst * ENTRIES_PER_READ_TOKEN}); verify a shorter range",
                )
            self._limiter.take(self._principal, "read", extra)
        return (extra + 1) * ENTRIES_PER_READ_TOKEN

    async def _held(self, seal: Seal) -> dict[str, Held]:
        """The window's live entries, by id, with their digests recomputed: the one stored
        with an entry is not trusted, its fields are what was sealed."""
        held = {}
        async for entry in self._stream(seal.window_start, seal.window_end, seal.window_start):
            digest = entry.content_digest()
            held[entry.id] = Held(digest, digest)
        return held

    async def _check_tail(
        self,
        last: Seal | None,
        since: datetime | None,
        until: datetime | None,
        sealed_through: datetime | None,
    ) -> None:
        """After the last seal: entries of windows the sealer had closed (`sealed_through`,
        read before the seals) are not covered by any seal (added later, or their seal
        removed with nothing after it); the rest wait."""
        start = last.window_end if last is not None else since
        if sealed_through is not None and (start is None or start < sealed_through):
            length = None if last is None else last.window_end - last.window_start
            await self._flag_unsealed(start, _earliest(sealed_through, until), length)
        waiting_from = sealed_through if sealed_through is not None else start
        async for _ in self._stream(_latest(waiting_from, since), until, self._now):
            self.findings.unsealed_entries += 1

    async def _flag_unsealed(
        self,
        start: datetime | None,
        end: datetime | None,
        length: timedelta | None,
        *,
        skip: tuple[datetime, datetime] | None = None,
    ) -> None:
        """Report the live entries in [start, end) as INJECTED, each at its window if the
        seals show their length; those in `skip` (the window of a seal reported missing) are
        left out."""
        if start is not None and end is not None and start >= end:
            return
        async for entry in self._stream(start, end, self._now):
            if skip is not None and skip[0] <= entry.created_at < skip[1]:
                continue
            window = None if length is None else window_of(entry.created_at, length)
            self.findings.problems.append(
                Problem(INJECTED, "the entry is not covered by any seal although its window was "
                        "closed: added later, or its seal was removed", entry.id, window)
            )  # fmt: skip

    async def _stream(
        self, since: datetime | None, until: datetime | None, now: datetime
    ) -> AsyncIterator[AuditEntry]:
        """The account's live entries created in [since, until), yielding to the loop."""
        if since is not None and until is not None and since >= until:
            return  # an empty range (a filter cannot state one)
        criteria = EntryCriteria.created_between(self._account, since, until)
        async for batch in self._entries.stream(criteria, now=now):
            for entry in batch:
                self._read += 1
                if self._read % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                if (
                    self._read > self._paid_for
                    and (self._read - self._paid_for) % ENTRIES_PER_READ_TOKEN == 1
                ):
                    # More entries than the seals promised (unsealed ones): pay as they come.
                    self._limiter.take(self._principal, "read")
                yield entry


def _earliest(a: datetime, b: datetime | None) -> datetime:
    return a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)
