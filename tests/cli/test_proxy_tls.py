"""An ``https://`` upstream whose certificate a private authority signed: trusted through
``SSL_CERT_FILE``, as OpenSSL reads it (the HTTP_PROXY-style variables stay ignored); an
untrusted one is a 502 that says TLS failed, not that the upstream cannot be reached."""

from __future__ import annotations

import datetime
import ipaddress

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dualfilter.cli.proxy import ReverseProxy
from dualfilter.filters.inject import Inject
from tests.support.cli_servers import uvicorn_thread


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def page(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": b"<html><body><p>tls</p></body></html>"})


async def get_through(url):
    proxy = ReverseProxy(url, filters=[Inject(html="<hr>")])
    try:
        transport = httpx.ASGITransport(app=proxy)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as client:
            return await client.get("/")
    finally:
        await proxy.aclose()


async def test_an_upstream_signed_by_a_private_authority_is_trusted_through_ssl_cert_file(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    with uvicorn_thread(page, ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        refused = await get_through(url)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusted = await get_through(url)
    assert refused.status_code == 502 and b"TLS with" in refused.content and b"cannot reach" not in refused.content
    assert (trusted.status_code, trusted.content) == (200, b"<html><body><p>tls</p><hr></body></html>")


@pytest.mark.parametrize("hosts", [[b"a.example", b"b.example"]])
async def test_a_request_with_two_host_fields_gets_a_400(hosts):
    proxy = ReverseProxy("http://127.0.0.1:9", filters=[])
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"host", host) for host in hosts],
        "http_version": "1.1",
        "scheme": "http",
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    try:
        await proxy(scope, receive, send)
    finally:
        await proxy.aclose()
    assert sent[0]["status"] == 400
