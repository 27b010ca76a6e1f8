"""What the entrypoint wires for log streams: the API's use cases and the delivery worker."""

from collections.abc import Mapping
from dataclasses import dataclass

from application.access.tenancy import Directory
from application.ports import AuditEntryRepository, Clock, SealSigner
from application.self_audit import SelfAudit
from application.streams.admin import StreamAdmin, StreamRules
from application.streams.delivery import DeliveryConfig, StreamDelivery, StreamTelemetry
from application.streams.ports import LogStreamStore, SecretBox, Sender
from domain.plan import PlanCatalog
from domain.streams import StreamKind


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamWiring:
    """What the composition gives for streams: the store's, the settings', the senders."""

    store: LogStreamStore
    box: SecretBox
    senders: Mapping[StreamKind, Sender]
    rules: StreamRules
    delivery: DeliveryConfig
    owner: str
    """This instance's name in the leases it takes."""
    telemetry: StreamTelemetry | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamServices:
    admin: StreamAdmin
    delivery: StreamDelivery
    """The entrypoint runs its passes beside the requests."""
    clock: Clock
    """What a stream's lag is measured against."""

    @classmethod
    def build(
        cls,
        wiring: StreamWiring,
        *,
        entries: AuditEntryRepository,
        directory: Directory,
        plans: PlanCatalog,
        audit: SelfAudit,
        signer: SealSigner,
        clock: Clock,
    ) -> "StreamServices":
        return cls(
            admin=StreamAdmin(
                streams=wiring.store,
                directory=directory,
                plans=plans,
                box=wiring.box,
                audit=audit,
                clock=clock,
                rules=wiring.rules,
            ),
            delivery=StreamDelivery(
                streams=wiring.store,
                entries=entries,
                directory=directory,
                plans=plans,
                senders=wiring.senders,
                box=wiring.box,
                signer=signer,
                clock=clock,
                config=wiring.delivery,
                owner=wiring.owner,
                telemetry=wiring.telemetry,
            ),
            clock=clock,
        )
