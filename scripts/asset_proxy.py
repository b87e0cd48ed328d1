"""An HTTPS proxy on 127.0.0.1 that answers for every host from a built
site's _hosts/<host>/ folder.

serve_site.py --assets serves a site's own image hosts; images that a body
shows from third hosts (pbs.twimg.com, a WordPress emoji CDN, another
paper's site) are built under _hosts/ too but have no server here, and no
machine here reaches the internet. A crawl run with https_proxy set to this
proxy fetches them at their real https URLs, unchanged: Scrapy tunnels
through CONNECT and does not verify the certificate, which is made up for
the run.
"""
from __future__ import annotations

import mimetypes
import ssl
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def tls_context() -> ssl.SSLContext:
    """A server context with a self-signed certificate made now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asset-proxy")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        pem = Path(tmp, "proxy.pem")
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        context.load_cert_chain(pem)
    return context


class HostFiles(BaseHTTPRequestHandler):
    """Requests inside one tunnel: files of _hosts/<host>/."""
    protocol_version = "HTTP/1.1"

    def __init__(self, folder: Path, *args):
        self.folder = folder
        super().__init__(*args)

    def log_message(self, *args):
        pass

    def do_GET(self):
        target = (self.folder / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
        if self.folder not in target.parents or not target.is_file():
            return self.reply(404, b"not found", "text/plain")
        self.reply(200, target.read_bytes(),
                   mimetypes.guess_type(target.name)[0] or "application/octet-stream")

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Tunnels(BaseHTTPRequestHandler):
    def __init__(self, hosts: Path, context: ssl.SSLContext, *args):
        self.hosts, self.context = hosts, context
        super().__init__(*args)

    def log_message(self, *args):
        pass

    def do_CONNECT(self):
        host = self.path.rpartition(":")[0]
        self.send_response(200, "Connection established")
        self.end_headers()
        try:
            tunnel = self.context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return
        folder = (self.hosts / host).resolve()
        if folder.parent != self.hosts:  # not a host name
            folder = self.hosts / "_"
        HostFiles(folder, tunnel, self.client_address, self.server)
        self.close_connection = True


class AssetProxy:
    """`with AssetProxy(site) as proxy:` then https_proxy=proxy.url."""

    def __init__(self, site: Path):
        self.server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(Tunnels, Path(site, "_hosts").resolve(), tls_context()))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> AssetProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
