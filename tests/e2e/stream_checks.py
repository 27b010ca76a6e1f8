"""For the log stream process tests of every kind: a stream of any kind made, listed and
resumed over GraphQL on a ServerProcess, what a receiver got checked against the trail
(every entry, first arrivals in OLDEST_FIRST order, a repeat only within its own batch),
and a server crashed with its delivery process."""

import os
import signal
from collections.abc import Callable, Iterable
from typing import Any

from tests.e2e.stream_outages import ServerProcess, children, wait_until

FIELDS = "id kind state pausedReason lastError delivered failedAttempts"
# The trail of the stream: portal's logins (what ServerProcess.record records).
FILTER = {"application": "portal", "actions": ["auth.login"]}


def create_stream(server: ServerProcess, kind: str, url: str, token: str | None = None) -> str:
    """A stream of `kind` of portal's logins to `url`; its id."""
    created = server.gql(
        'mutation($i: LogStreamInput!) { createLogStream(account: "acme", input: $i) '
        "{ logStream { id } } }",
        {"i": {"name": "SIEM", "kind": kind, "url": url, "token": token, "filter": FILTER}},
    )
    return str(created["createLogStream"]["logStream"]["id"])


def listed(server: ServerProcess) -> dict[str, Any]:
    """The account's one stream as `logStreams` lists it."""
    [stream] = server.gql(f'{{ logStreams(account: "acme") {{ {FIELDS} }} }}')["logStreams"]
    return dict(stream)


def resume(server: ServerProcess, stream_id: str) -> dict[str, Any]:
    resumed = server.gql(
        f"mutation($id: ID!) {{ resumeLogStream(id: $id) {{ {FIELDS} }} }}", {"id": stream_id}
    )
    return dict(resumed["resumeLogStream"])


def all_arrived(
    server: ServerProcess,
    key: str,
    arrived: Callable[[], Iterable[str]],
    recorded: list[str],
    seconds: float = 30,
) -> list[str]:
    """Once every recorded entry is settled (listed) and its id is among `arrived()`: the
    OLDEST_FIRST listing."""

    def done() -> list[str] | None:
        if not set(arrived()).issuperset(recorded):
            return None
        expected = server.oldest_first(key)
        return expected if sorted(expected) == sorted(recorded) else None

    return wait_until("every entry to arrive", done, seconds=seconds)  # type: ignore[no-any-return]


def crash(server: ServerProcess) -> None:
    """kill -9 of the server and of its log stream delivery process (the default on the
    embedded store), as a machine going down does: neither finishes nor gives up the
    stream's lease. (Killed alone, the server's delivery process sees its lifeline close and
    finishes, giving the lease up.) Its delivery process first: the server would start
    another."""
    for pid in children(server.process.pid):
        os.kill(pid, signal.SIGKILL)
    server.kill()
