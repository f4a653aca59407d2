"""Failure modes of PrometheusBackend against real sockets and a real Prometheus behind real proxies.

* Unreachable servers fail with BackendUnavailable within the timeout (closed port, a socket that never
  answers, a server that hangs up) - measured.
* Auth: a stdlib reverse proxy on 127.0.0.1 checks ``Authorization`` (bearer or basic) and a tenant header,
  then forwards to the demo Prometheus with ``requests``; 401/403 become AuthError.
* TLS: the same proxy behind a certificate signed by a CA generated here with ``cryptography``; verify with
  the CA file, verify without it (clear error), verify off, and mutual TLS with a client certificate.
* Secrets (a token, a password) never appear in errors, reprs or logs.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from promv5_lab import cli
from promv5_lab.backends.harness import free_port
from promv5_lab.backends.prometheus import PrometheusBackend
from promv5_lab.config import load_settings
from promv5_lab.errors import AuthError, BackendError, BackendUnavailable, ResultTooLarge
from promv5_lab.types import TimeRange

TOKEN = "tok-9f3Qx-never-print-me"
DENIED_TOKEN = "tok-readonly-7Hk2"
USER, PASSWORD = "alice", "pw-Lq28-never-print-me"
TENANT = "team-a"


# -- unreachable -------------------------------------------------------------------------------------------


def test_closed_port_fails_fast_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        PrometheusBackend(url, timeout_s=3, retries=2).query("up")
    elapsed = time.monotonic() - t0
    assert elapsed < 3, f"took {elapsed:.2f}s"
    assert url in info.value.message and "connection refused" in info.value.message
    assert "3 attempt(s)" in info.value.message  # bounded retries happened, within the timeout
    assert info.value.url == url and "PROMV5_BACKEND_URL" in info.value.hint


def test_silent_server_fails_within_the_timeout():
    """A socket that accepts connections (kernel backlog) but never answers: one read timeout, no retries."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(BackendUnavailable) as info:
            PrometheusBackend(url, timeout_s=1.5, retries=2).query_range("up", TimeRange.last("1h"))
        elapsed = time.monotonic() - t0
    assert 1.4 <= elapsed < 2.5, f"took {elapsed:.2f}s with timeout_s=1.5"
    assert f"{url} did not answer /api/v1/query_range within 1.5s" in info.value.message
    assert "timeout_s" in info.value.hint


def test_server_that_hangs_up_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        stop = threading.Event()

        def hang_up() -> None:
            sock.settimeout(0.1)
            while not stop.is_set():
                try:
                    conn, _ = sock.accept()
                    conn.close()
                except OSError:
                    pass

        t = threading.Thread(target=hang_up, daemon=True)
        t.start()
        try:
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            t0 = time.monotonic()
            with pytest.raises(BackendUnavailable) as info:
                PrometheusBackend(url, timeout_s=3, retries=1).query("up")
            assert time.monotonic() - t0 < 3
        finally:
            stop.set()
            t.join(timeout=2)
    # Depending on timing the kernel reports a clean close or a reset: both are named, neither is a traceback.
    assert any(s in info.value.message for s in ("closed the connection without answering", "connection reset"))
    assert "2 attempt(s)" in info.value.message


def test_response_byte_cap_on_a_real_prometheus(prometheus_demo):
    """Every series over an hour is tens of MB from Prometheus; with a 300 kB cap it stops early, clearly."""
    b = PrometheusBackend(prometheus_demo.url, max_response_bytes=300_000, timeout_s=30)
    t0 = time.monotonic()
    with pytest.raises(ResultTooLarge) as info:
        b.query_range('{__name__=~".+"}', TimeRange.last("1h", step="30s"))
    assert time.monotonic() - t0 < 10
    assert "300,000 bytes" in info.value.message and "max_response_bytes" in info.value.hint


def test_cli_query_defaults_to_the_bundled_demo(capsys, tmp_path, monkeypatch):
    """With neither --backend nor --data, the bundled demo history is generated (ending now) and queried."""
    monkeypatch.setenv("PROMV5_CACHE_DIR", str(tmp_path))
    assert cli.main(["query", 'count(up{job="node"})', "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["backend"].startswith("embedded:") and str(tmp_path) in doc["backend"]
    assert doc["data"][0]["value"] == 3  # the demo shop has three nodes, all scraped "now"


def test_cli_errors_are_message_and_hint(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["query", "up", "--backend", url, "--timeout", "2"]) == 2
    err = capsys.readouterr().err
    assert f"Cannot reach {url}" in err and "Traceback" not in err
    assert cli.main(["query", "up", "--backend", "localhost:9090"]) == 2
    assert "http://" in capsys.readouterr().err


# -- auth and TLS through a real reverse proxy ----------------------------------------------------------------


@dataclass
class Proxy:
    url: str
    seen: list[dict[str, str]] = field(default_factory=list)


def _proxy_handler(upstream: str, seen: list[dict[str, str]]) -> type[BaseHTTPRequestHandler]:
    good_basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: bytes, ctype: str = "text/plain", extra: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            headers = dict(self.headers.items())
            seen.append(headers)
            auth = headers.get("Authorization", "")
            if auth == f"Bearer {DENIED_TOKEN}":
                return self._reply(403, b"forbidden: read-only token")
            if auth not in (f"Bearer {TOKEN}", good_basic):
                return self._reply(401, b"unauthorized", extra={"WWW-Authenticate": 'Bearer realm="prom"'})
            if headers.get("X-Scope-OrgID", TENANT) != TENANT:
                return self._reply(403, b"forbidden: unknown tenant")
            r = requests.get(upstream + self.path, timeout=30)
            self._reply(r.status_code, r.content, r.headers.get("Content-Type", "application/json"))

    return Handler


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    """A private CA, a server certificate for 127.0.0.1/localhost, and a client certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = tmp_path_factory.mktemp("certs")
    now = dt.datetime.now(dt.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def save(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        (out / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (out / f"{stem}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("promv5 test CA")).issuer_name(name("promv5 test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    save("ca", ca, ca_key)

    def leaf(stem: str, usage, sans: list) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(name(stem)).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        save(stem, builder.sign(ca_key, hashes.SHA256()), key)

    leaf("server", ExtendedKeyUsageOID.SERVER_AUTH,
         [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    leaf("client", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return {k: out / k for k in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # refused handshakes and hang-ups are what some tests provoke


def _serve(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None) -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(timeout=5)


@pytest.fixture(scope="module")
def proxy(prometheus_demo) -> Iterator[Proxy]:
    seen: list[dict[str, str]] = []
    for url in _serve(_proxy_handler(prometheus_demo.url, seen), None):
        yield Proxy(url, seen)


def _server_ctx(certs: dict[str, Path], *, client_certs: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs["server.pem"], certs["server.key"])
    if client_certs:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(certs["ca.pem"])
    return ctx


@pytest.fixture(scope="module")
def tls_proxy(prometheus_demo, certs) -> Iterator[Proxy]:
    seen: list[dict[str, str]] = []
    for url in _serve(_proxy_handler(prometheus_demo.url, seen), _server_ctx(certs)):
        yield Proxy(url, seen)


@pytest.fixture(scope="module")
def mtls_proxy(prometheus_demo, certs) -> Iterator[Proxy]:
    seen: list[dict[str, str]] = []
    for url in _serve(_proxy_handler(prometheus_demo.url, seen), _server_ctx(certs, client_certs=True)):
        yield Proxy(url, seen)


def _works(b: PrometheusBackend) -> None:
    res = b.query("count(up)")
    assert res.frame["value"].iloc[0] > 0


def test_bearer_token_and_custom_header(proxy):
    _works(PrometheusBackend(proxy.url, bearer_token=TOKEN, headers={"X-Scope-OrgID": TENANT}))
    assert proxy.seen[-1]["Authorization"] == f"Bearer {TOKEN}" and proxy.seen[-1]["X-Scope-OrgID"] == TENANT


def test_basic_auth_from_options_settings_and_url(proxy):
    _works(PrometheusBackend(proxy.url, basic_auth_user=USER, basic_auth_password=PASSWORD))
    settings = load_settings(backend_url=proxy.url, basic_auth_user=USER, basic_auth_password=PASSWORD)
    _works(PrometheusBackend.from_settings(settings))
    host = proxy.url.split("://", 1)[1]
    in_url = PrometheusBackend(f"http://{USER}:{PASSWORD}@{host}")
    _works(in_url)
    assert in_url.name == proxy.url


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({}, 401),
        ({"bearer_token": "wrong"}, 401),
        ({"basic_auth_user": USER, "basic_auth_password": "wrong"}, 401),
        ({"bearer_token": DENIED_TOKEN}, 403),
        ({"bearer_token": TOKEN, "headers": {"X-Scope-OrgID": "team-b"}}, 403),
    ],
    ids=["none", "wrong-token", "wrong-password", "read-only-token", "wrong-tenant"],
)
def test_auth_failures(proxy, kwargs, status):
    b = PrometheusBackend(proxy.url, retries=2, **kwargs)
    n = len(proxy.seen)
    with pytest.raises(AuthError) as info:
        b.query("up")
    assert info.value.status == status and info.value.url == proxy.url
    assert len(proxy.seen) == n + 1  # 4xx is never retried
    assert ("PROMV5_BEARER_TOKEN" if status == 401 else "permissions") in info.value.hint
    with pytest.raises(AuthError):
        b.label_names()  # every endpoint maps the same way


def test_tls_verify_with_ca_file(tls_proxy, certs):
    _works(PrometheusBackend(tls_proxy.url, bearer_token=TOKEN, tls_ca_file=certs["ca.pem"]))
    assert tls_proxy.seen[-1]["Authorization"] == f"Bearer {TOKEN}"


def test_tls_verify_without_ca_fails_clearly(tls_proxy):
    b = PrometheusBackend(tls_proxy.url, bearer_token=TOKEN, retries=2, timeout_s=5)
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        b.query("up")
    assert time.monotonic() - t0 < 2  # certificate failures are not retried
    assert "certificate verify failed" in info.value.message and tls_proxy.url in info.value.message
    assert "tls_ca_file" in info.value.hint


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_verify_off(tls_proxy):
    _works(PrometheusBackend(tls_proxy.url, bearer_token=TOKEN, tls_verify=False))


def test_plain_http_to_a_tls_port(tls_proxy):
    with pytest.raises(BackendUnavailable):
        PrometheusBackend(tls_proxy.url.replace("https://", "http://"), retries=0, timeout_s=3).query("up")


def test_mutual_tls(mtls_proxy, certs):
    with_cert = PrometheusBackend(mtls_proxy.url, bearer_token=TOKEN, tls_ca_file=certs["ca.pem"],
                                  tls_client_cert=certs["client.pem"], tls_client_key=certs["client.key"])
    _works(with_cert)
    without = PrometheusBackend(mtls_proxy.url, bearer_token=TOKEN, tls_ca_file=certs["ca.pem"], retries=0,
                                timeout_s=5)
    with pytest.raises(BackendUnavailable):
        without.query("up")


def test_secrets_never_in_errors_reprs_or_logs(proxy, tls_proxy, caplog):
    caplog.set_level(logging.DEBUG)
    host = proxy.url.split("://", 1)[1]
    backends = [
        PrometheusBackend(proxy.url, bearer_token=TOKEN, headers={"X-Scope-OrgID": "team-b"}),
        PrometheusBackend(f"http://{USER}:{PASSWORD}@{host}/nope"),
        PrometheusBackend(tls_proxy.url, bearer_token=TOKEN),
        PrometheusBackend.from_settings(load_settings(backend_url=f"http://127.0.0.1:{free_port()}",
                                                      bearer_token=TOKEN, retries=0)),
        PrometheusBackend(proxy.url, basic_auth_user=USER, basic_auth_password="wrong-" + PASSWORD),
    ]
    texts, kinds = [], set()
    for b in backends:
        texts += [repr(b), b.name, str(vars(b).get("url"))]
        for call in (lambda b=b: b.query("up"), b.metadata, lambda b=b: b.query_range("up", TimeRange.last("5m"))):
            with pytest.raises(BackendError) as info:
                call()
            e = info.value
            kinds.add(type(e))
            texts += [str(e), repr(e), e.hint or "", str(e.__cause__ or "")]
    texts += [r.getMessage() for r in caplog.records]
    blob = "\n".join(texts)
    assert TOKEN not in blob and PASSWORD not in blob
    assert {AuthError, BackendUnavailable, BackendError} <= kinds  # 401/403, refused/TLS, 404 under /nope
