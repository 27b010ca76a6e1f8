"""Fakes of the witness's ports: its ledger in a dict, and a witness client that calls the
witness's use case in process (what the HTTP client does over the network)."""

from application.integrity.countersigning import Accepted, Countersigning
from application.integrity.witnessing import Answer, WitnessUnavailable
from domain.checkpoint import Checkpoint
from domain.witnessing import GAP, Witnessed, WitnessedHead


class InMemoryWitnessLedger:
    def __init__(self) -> None:
        self.checkpoints: dict[int, Witnessed] = {}
        self.heads: dict[str, WitnessedHead] = {}

    async def last(self) -> Witnessed | None:
        return self.checkpoints[max(self.checkpoints)] if self.checkpoints else None

    async def get(self, sequence: int) -> Witnessed | None:
        return self.checkpoints.get(sequence)

    async def add(self, witnessed: Witnessed) -> None:
        assert witnessed.sequence not in self.checkpoints
        self.checkpoints[witnessed.sequence] = witnessed
        for head in witnessed.checkpoint.sealed:
            kept = self.heads.get(head.account)
            if kept is None or head.window_start > kept.head.window_start:
                self.heads[head.account] = WitnessedHead(
                    head=head,
                    sequence=witnessed.sequence,
                    checkpoint_hash=witnessed.checkpoint_hash,
                    witnessed_at=witnessed.witnessed_at,
                )

    async def head(self, account: str) -> WitnessedHead | None:
        return self.heads.get(account)


class InProcessWitness:
    """A witness client calling `Countersigning` directly; `down` makes it unreachable."""

    def __init__(self, name: str, witness: Countersigning) -> None:
        self.name = name
        self.witness = witness
        self.down = False
        self.sent: list[int] = []

    async def latest(self) -> tuple[int, str] | None:
        self._reachable()
        witnessed = await self.witness.latest()
        return None if witnessed is None else (witnessed.sequence, witnessed.checkpoint_hash)

    async def submit(self, checkpoint: Checkpoint) -> Answer:
        self._reachable()
        self.sent.append(checkpoint.sequence)
        result = await self.witness.execute(checkpoint)
        if isinstance(result, Accepted):
            return Answer(accepted=True)
        return Answer(error=result.error, expected=result.expected if result.error == GAP else None)

    def _reachable(self) -> None:
        if self.down:
            raise WitnessUnavailable("connection refused")
