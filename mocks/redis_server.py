"""A real redis-server child process on a free loopback port, for the tests and the benchmarks.

The Redis store is tested and measured against Redis itself, not a fake: its guarantees live in Lua
scripts, key expiry and reconnection, which only the real server has. The server runs without
persistence and can be stopped (SIGKILL) and started again on the same port, to play an outage.
"""
from __future__ import annotations

import ctypes
import datetime
import ipaddress
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import redis

DATABASES = 64  # db 0 is the session's own; tests cycle through 1..63, flushed around each
START_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM when pytest dies, so no redis-server outlives a killed run."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _make_tls_files(directory: Path) -> Path:
    """A throw-away CA and a server certificate for 127.0.0.1; returns the CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carebot test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(start).not_valid_after(end)
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(server.public_bytes(pem))
    (directory / "server.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return directory / "ca.pem"


class RedisServer:
    """A redis-server child process that can be stopped and started again on the same port.
    With `tls`, it listens only for TLS (rediss://) with a certificate from a throw-away CA."""

    def __init__(self, binary: str, workdir: Path, tls: bool = False) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.ca_file: Optional[Path] = _make_tls_files(workdir) if tls else None
        self.url = self.url_for(0)
        self._process: Optional[subprocess.Popen] = None

    def url_for(self, db: int) -> str:
        if self.ca_file is None:
            return f"redis://127.0.0.1:{self.port}/{db}"
        return f"rediss://127.0.0.1:{self.port}/{db}?ssl_ca_certs={self.ca_file}"

    def _listen_args(self) -> List[str]:
        if self.ca_file is None:
            return ["--port", str(self.port)]
        return ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no",
                "--tls-cert-file", str(self.workdir / "server.pem"),
                "--tls-key-file", str(self.workdir / "server.key"), "--tls-ca-cert-file", str(self.ca_file)]

    def _client(self, db: int = 0, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis.from_url(self.url_for(db), socket_connect_timeout=timeout, socket_timeout=timeout)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start (or restart, empty: nothing is persisted) and wait until it answers PING."""
        if self.running:
            return
        self._process = subprocess.Popen(
            [self.binary, *self._listen_args(), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--databases", str(DATABASES),
             "--dir", str(self.workdir), "--loglevel", "warning"],
            cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        client = self._client(timeout=0.5)
        try:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    stderr = self._process.stderr
                    error = stderr.read().decode(errors="replace") if stderr else ""
                    raise RuntimeError(f"redis-server exited at start: {error.strip()[:500]}")
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not answer on port {self.port}")
                time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """Kill the server (SIGKILL: a crash, not a shutdown) and wait until it is gone."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()

    def flush(self, db: Optional[int] = None) -> None:
        """Empty one database, or all of them."""
        client = self._client(db or 0)
        try:
            client.flushdb() if db is not None else client.flushall()
        finally:
            client.close()


def start_redis(tls: bool = False) -> RedisServer:
    """A started server in a new temporary directory; raises FileNotFoundError naming the fix
    when redis-server is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed; run scripts/ensure-redis-server")
    server = RedisServer(binary, Path(tempfile.mkdtemp(prefix="carebot-redis-")), tls=tls)
    server.start()
    return server
