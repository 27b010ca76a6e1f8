"""Debian's rsyslogd as a receiver: started on a free loopback port with a config of the
test's own, writing each message it receives (as it received it) to a file."""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.adapters.streams.receivers import free_port

RSYSLOGD = Path("/usr/sbin/rsyslogd")
GTLS = Path("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so")


def missing(tls: bool = False) -> str | None:
    """Why rsyslog cannot be run here, or None."""
    if not RSYSLOGD.exists() and shutil.which("rsyslogd") is None:
        return "rsyslogd is not installed (Debian package rsyslog)"
    if tls and not GTLS.exists():
        return "rsyslog's TLS driver is not installed (Debian package rsyslog-gnutls)"
    return None


@dataclass
class IssuedCA:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_ca(directory: Path, names: tuple[str, ...], addresses: tuple[str, ...]) -> IssuedCA:
    """A CA and a server certificate it issued for `names` and `addresses`."""
    import ipaddress

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auditlog test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    sans += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    made = IssuedCA(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    made.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    made.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return made


@dataclass
class Rsyslog:
    port: int
    output: Path

    def messages(self, count: int, within: float = 10.0) -> list[bytes]:
        """The first `count` messages written, waiting for them up to `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            lines = self.output.read_bytes().splitlines() if self.output.exists() else []
            if len(lines) >= count or time.monotonic() > deadline:
                return lines


@contextmanager
def rsyslog(directory: Path, tls: IssuedCA | None = None) -> Iterator[Rsyslog]:
    port = free_port()
    work = directory / "work"
    work.mkdir()
    output = directory / "received.log"
    driver = ""
    if tls is not None:
        driver = (
            f'global(DefaultNetstreamDriverCAFile="{tls.ca_file}"'
            f' DefaultNetstreamDriverCertFile="{tls.cert_file}"'
            f' DefaultNetstreamDriverKeyFile="{tls.key_file}")\n'
        )
    options = (
        ' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"'
        if tls is not None
        else ""
    )
    config = directory / "rsyslog.conf"
    config.write_text(
        f'global(workDirectory="{work}" maxMessageSize="64k")\n'
        + driver
        + f'module(load="imtcp"{options})\n'
        f'input(type="imtcp" address="127.0.0.1" port="{port}")\n'
        'template(name="raw" type="string" string="%rawmsg%\\n")\n'
        f'action(type="omfile" file="{output}" template="raw")\n'
    )
    process = subprocess.Popen(
        [str(RSYSLOGD), "-n", "-f", str(config), "-i", str(directory / "rsyslog.pid")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "rsyslogd did not listen"
                time.sleep(0.05)
        yield Rsyslog(port, output)
    finally:
        terminate(process)


def terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as an operator's restart does; SIGKILL if it has not ended in 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
