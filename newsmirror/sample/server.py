"""Serve a static copy of a site on 127.0.0.1, as if it were the real host.

Absolute links to the real host in HTML and XML are rewritten to the
server's own address, and those to its image hosts to /_hosts/<host>/ on
it, where the copy keeps their files (as shared/tools/serve_site.py
--assets does), so nothing is fetched from the internet. Every request path is logged, so tests can count
downloads, and `routes` can answer chosen paths with anything at all, or
(returning None) drop the connection unanswered, as a reset would.
"""
from __future__ import annotations

import mimetypes
import re
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import unquote, urlsplit

REAL_HOSTS = ("https://www.secretchina.com", "http://www.secretchina.com",
              "https://www.soundofhope.org", "http://www.soundofhope.org")
# The sites' image and media hosts; soundofhope links them protocol-relative.
IMAGE_HOSTS = re.compile(
    rb"(?:https?:)?//(img\d*\.secretchina\.com|(?:img|media)\.soundofhope\.org)/")
# Each source's bundled sample site, a folder of this package.
SAMPLES = {"secretchina": "site", "soundofhope": "soundofhope"}
# A route answers (status, headers, body) for a request path, or None.
Route = Callable[[str], tuple[int, dict[str, str], bytes] | None]


def sample_site(source: str = "secretchina") -> Traversable:
    """A source's bundled sample site, readable from a directory or an egg."""
    return files("newsmirror.sample") / SAMPLES[source]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "SiteServer"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = urlsplit(self.path).path
        self.server.log_request_path(path)
        route = self.server.routes.get(path)
        answer = route(path) if route is not None else self.server.static(path)
        if answer is None:
            self.close_connection = True
            return
        status, headers, body = answer
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    # A crawler opens many connections at once; with the default backlog
    # of 5 the kernel drops some SYNs and they wait a second to be resent.
    request_queue_size = 64

    def __init__(self, root: Traversable | Path, port: int = 0,
                 routes: dict[str, Route] | None = None):
        super().__init__(("127.0.0.1", port), _Handler)
        self.root = root
        self.routes = dict(routes or {})
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def log_request_path(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def static(self, path: str) -> tuple[int, dict[str, str], bytes]:
        parts = [p for p in unquote(path).split("/") if p]
        if not parts or path.endswith("/"):
            parts.append("index.html")
        if any(p in (".", "..") for p in parts):
            return 404, {"Content-Type": "text/plain"}, b"not found"
        target = self.root.joinpath(*parts)
        if not target.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found"
        body = target.read_bytes()
        name = parts[-1]
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if "." not in name:  # soundofhope's /post/<id> and /rss/<n>
            name += ".xml" if body.startswith(b"<?xml") else ".html"
        if name.endswith((".html", ".xml")):
            for host in REAL_HOSTS:
                body = body.replace(host.encode(), self.base_url.encode())
            body = IMAGE_HOSTS.sub(rb"%s/_hosts/\1/" % self.base_url.encode(), body)
            ctype = ("text/html" if name.endswith(".html")
                     else "application/xml") + "; charset=utf-8"
        return 200, {"Content-Type": ctype}, body

    def handle_error(self, request, client_address) -> None:
        # A client hanging up early (a crawler refusing an oversize page)
        # is no error of the server's.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def start(self) -> "SiteServer":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> "SiteServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
