"""Debian's rsyslogd as a stream receiver that can be stopped and started again on the same
loopback port (plain TCP, or TLS with a test CA), appending each message it receives, as
received, to one file; and the entries that file holds, read from each message's structured
data (RFC 5424 SD-PARAMs, as the service writes them)."""

import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.adapters.streams.rsyslog import RSYSLOGD, IssuedCA, terminate
from tests.e2e.test_server_process import free_port

# <PRI>1 TIMESTAMP HOSTNAME auditlog - MSGID [auditlog@32473 params] BOM MSG
_MESSAGE = re.compile(
    rb"<\d+>1 \S+ \S+ auditlog - (?P<msgid>\S+) \[auditlog@32473 (?P<sd>[^\]]*)\]"
)
_PARAM = re.compile(rb'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Message:
    msgid: str
    params: dict[str, str]
    line: bytes


class Rsyslog:
    """rsyslogd -n with a config of the test's own; `start` again after `stop` listens on
    the same port and appends to the same file."""

    def __init__(self, directory: Path, tls: IssuedCA | None = None) -> None:
        self.port = free_port()
        self.output = directory / "received.log"
        self._directory = directory
        self._config = directory / "rsyslog.conf"
        work = directory / "work"
        work.mkdir()
        driver = options = ""
        if tls is not None:
            driver = (
                f'global(DefaultNetstreamDriverCAFile="{tls.ca_file}"'
                f' DefaultNetstreamDriverCertFile="{tls.cert_file}"'
                f' DefaultNetstreamDriverKeyFile="{tls.key_file}")\n'
            )
            options = ' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"'
        self._config.write_text(
            f'global(workDirectory="{work}" maxMessageSize="64k")\n'
            + driver
            + f'module(load="imtcp"{options})\n'
            f'input(type="imtcp" address="127.0.0.1" port="{self.port}")\n'
            'template(name="raw" type="string" string="%rawmsg%\\n")\n'
            f'action(type="omfile" file="{self.output}" template="raw")\n'
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Rsyslog":
        process = self._process = subprocess.Popen(
            [str(RSYSLOGD), "-n", "-f", str(self._config), "-i", str(self._directory / "pid")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"rsyslogd exited: {output}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                assert time.monotonic() < deadline, "rsyslogd did not listen"
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, as an operator's restart does; waits for the process to end."""
        process, self._process = self._process, None
        if process is None:
            return
        terminate(process)
        if process.stdout is not None:
            process.stdout.close()

    def messages(self) -> list[Message]:
        """The messages written so far (a line still being written is not yet one)."""
        written = self.output.read_bytes() if self.output.exists() else b""
        lines = written[: written.rfind(b"\n") + 1].splitlines()
        found = []
        for line in lines:
            matched = _MESSAGE.match(line)
            assert matched is not None, line
            params = {k.decode(): v.decode() for k, v in _PARAM.findall(matched["sd"])}
            found.append(Message(matched["msgid"].decode(), params, line))
        return found

    def entry_ids(self) -> list[str]:
        return [m.params["id"] for m in self.messages() if m.msgid == "entry"]

    def __enter__(self) -> "Rsyslog":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
