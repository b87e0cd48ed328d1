"""Real Git servers on loopback for the publishing tests.

`git daemon --enable=receive-pack` (git://), `git http-backend` behind
waitress with Basic auth (http://user:password@...), bare repositories by
path, and server-side hooks that stand in for a host's refusals.
"""
from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import waitress

from tests.conftest import free_port

# The CGI variables git http-backend reads besides the HTTP_ headers.
CGI_VARIABLES = ("REQUEST_METHOD", "QUERY_STRING", "PATH_INFO", "CONTENT_TYPE",
                 "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR")


def git(*args: str, cwd: Path | None = None, input: bytes | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="someone", GIT_AUTHOR_EMAIL="someone@example.org",
               GIT_COMMITTER_NAME="someone",
               GIT_COMMITTER_EMAIL="someone@example.org")
    return subprocess.run(["git", *args], cwd=cwd, env=env, input=input,
                          check=True, capture_output=True).stdout.decode().strip()


def bare_repo(path: Path) -> Path:
    git("init", "-q", "--bare", str(path))
    return path


def files_on(repo: Path, branch: str = "master") -> set[str]:
    """Every file path on the branch of a repository."""
    out = git("-C", str(repo), "ls-tree", "-r", "--name-only", "-z", branch)
    return set(filter(None, out.split("\0")))


def subjects(repo: Path, branch: str = "master") -> list[str]:
    """The branch's commit subjects, newest first."""
    return git("-C", str(repo), "log", "--format=%s", branch).splitlines()


def install_hook(repo: Path, name: str, script: str) -> None:
    hook = repo / "hooks" / name if (repo / "hooks").is_dir() else repo / ".git/hooks" / name
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\n" + script)
    hook.chmod(0o755)


def refuse_blobs_over(repo: Path, limit: int) -> None:
    """A pre-receive hook refusing any pushed file above limit bytes, with
    GitHub's words for it."""
    install_hook(repo, "pre-receive", f"""
while read old new ref; do
  git rev-list --objects "$new" --not --all | cut -d' ' -f1 |
    git cat-file --batch-check='%(objecttype) %(objectsize)' |
    while read type size; do
      if [ "$type" = blob ] && [ "$size" -gt {limit} ]; then
        echo "error: GH001: Large files detected. This exceeds the file size limit of {limit} bytes." >&2
        exit 1
      fi
    done || exit 1
done
""")


def wait_listening(port: int, process: subprocess.Popen | None = None) -> None:
    for _ in range(500):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class SilentServer:
    """Accepts connections on 127.0.0.1 and never says a word: a remote
    that hangs."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while True:
            try:
                self.held.append(self.socket.accept()[0])
            except OSError:
                return

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.socket.close()
        for conn in self.held:
            conn.close()


class GitDaemon:
    """`git daemon` serving every repository under root, pushes allowed.
    stop() and start() again keep the port: the same URLs come back."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> "GitDaemon":
        assert self.process is None, "already started"  # it would be left running
        self.process = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
             f"--base-path={self.root}", "--listen=127.0.0.1", f"--port={self.port}",
             str(self.root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def http_backend(root: Path, user: str, password: str):
    """A WSGI app: git http-backend (smart HTTP, pushes allowed) behind
    Basic auth."""
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def app(environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != expected:
            start_response("401 Unauthorized", [
                ("WWW-Authenticate", 'Basic realm="git"'), ("Content-Length", "0")])
            return [b""]
        body = environ["wsgi.input"].read()  # waitress has de-chunked it
        env = {k: v for k, v in environ.items() if isinstance(v, str)
               and (k.startswith("HTTP_") or k in CGI_VARIABLES)}
        env.update(PATH=os.environ["PATH"], GIT_PROJECT_ROOT=str(root),
                   GIT_HTTP_EXPORT_ALL="1", REMOTE_USER=user,
                   CONTENT_LENGTH=str(len(body)))
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        status, headers = "200 OK", []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = value
            else:
                headers.append((name, value))
        start_response(status, headers)
        return [rest]

    return app


class GitHttp:
    """git http-backend behind waitress on 127.0.0.1, with Basic auth."""

    def __init__(self, root: Path, user: str = "mirror", password: str = "s3cret-t0ken"):
        self.root, self.user, self.password = root, user, password
        self.server = waitress.create_server(http_backend(root, user, password),
                                             host="127.0.0.1", port=0, threads=4)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def url(self, name: str, password: str | None = None) -> str:
        return (f"http://{self.user}:{password or self.password}"
                f"@127.0.0.1:{self.port}/{name}")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.close()
        self.thread.join()
