"""Publishing the mirror to real Git servers on loopback (no mocks of git)."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsmirror.mirror import layout
from newsmirror.mirror.catalog import Catalog
from newsmirror.publish import publisher
from newsmirror.publish.publisher import Options, Publisher
from tests.conftest import ROOT
from tests.gitservers import (GitDaemon, GitHttp, SilentServer, bare_repo, files_on,
                              git, install_hook, refuse_blobs_over, subjects)

pytestmark = pytest.mark.git


class Mirror:
    """A small mirror tree as the crawl writes it: pages, QR images, list
    pages, the catalog, and a temp file being written."""

    def __init__(self, path: Path):
        self.path = path
        self.next_id = 1000

    def add(self, site: str = "secretchina", **per_channel: int) -> list[str]:
        catalog = Catalog(self.path)
        written = []
        for channel, n in per_channel.items():
            for _ in range(n):
                self.next_id += 1
                page = layout.page_path(site, str(self.next_id),
                                        "2024-05-06T08:00:00-04:00")
                self.write(page, f"# article {self.next_id}\n")
                self.write(layout.qr_path(page), b"\x89PNG fake")
                catalog.add({"site": site, "id": str(self.next_id), "channel": channel,
                             "title": "t", "published": "2024-05-06T08:00:00-04:00",
                             "url": "u", "page_path": page, "public_url": "p",
                             "tags": [], "language": "zh", "content_html": ""})
                written += [page, layout.qr_path(page)]
            self.write(layout.index_path(site, channel), f"{self.next_id}\n")
        catalog.close()
        self.write(layout.HOME, f"home {self.next_id}\n")
        self.write(layout.FEED, f'{{"n": {self.next_id}}}\n')
        self.write("pages/secretchina/.1001.md.abc.tmp", "half a page")
        return written + [layout.HOME, layout.FEED]

    def write(self, relpath: str, data: str | bytes) -> None:
        path = self.path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)

    def published(self) -> set[str]:
        return {p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                if p.is_file() and not p.name.endswith(".tmp")
                and not p.relative_to(self.path).as_posix().startswith((".newsmirror/", ".git/"))}


def publish(mirror: Mirror, *remotes: str, retries: int = 0, timeout: float = 60):
    return Publisher(mirror.path, Options(
        remotes=remotes, branch="master", author=("newsmirror", "nm@localhost"),
        timeout=timeout, retries=retries, backoff=0.01)).run()


@pytest.fixture
def mirror(tmp_path) -> Mirror:
    return Mirror(tmp_path / "mirror")


@pytest.fixture
def daemon(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    bare_repo(root / "a.git")
    with GitDaemon(root) as d:
        yield d


def test_first_publish_commits_the_tree_and_pushes_it_to_every_remote(
        mirror, daemon, tmp_path):
    mirror.add(p1=2, p9=1)
    by_path = bare_repo(tmp_path / "b.git")
    outcome = publish(mirror, daemon.url("a.git"), str(by_path))
    assert outcome.commit and not outcome.failed
    assert outcome.message.splitlines()[0] == "3 new articles: p1 2, p9 1"
    for remote in (daemon.root / "a.git", by_path):
        assert files_on(remote) == mirror.published()
        assert subjects(remote) == ["3 new articles: p1 2, p9 1"]
    assert not any(p.startswith(".newsmirror") or p.endswith(".tmp")
                   for p in files_on(by_path))
    assert [r.pushed for r in outcome.remotes] == [1, 1]
    assert outcome.repo_bytes > 0


def test_the_message_names_each_channel_with_its_site_when_there_are_two(mirror):
    written = mirror.add(p1=2) + mirror.add("soundofhope", **{"3": 1})
    changes = [("A", path) for path in written]
    assert publisher.describe(changes, mirror.path).splitlines()[0] \
        == "3 new articles: secretchina/p1 2, soundofhope/3 1"


def test_incremental_publish_commits_exactly_what_changed(mirror, daemon):
    mirror.add(p1=2)
    publish(mirror, daemon.url("a.git"))
    new = mirror.add(p2=1, p10=2)
    outcome = publish(mirror, daemon.url("a.git"))
    remote = daemon.root / "a.git"
    assert subjects(remote) == ["3 new articles: p2 1, p10 2", "2 new articles: p1 2"]
    changed = set(git("-C", str(remote), "show", "--name-only", "--format=",
                      "master").splitlines())
    indexes = {layout.index_path("secretchina", c) for c in ("p2", "p10")}
    assert changed == set(new) | indexes
    assert files_on(remote) == mirror.published()
    assert outcome.remotes[0].pushed == 1


def test_pages_removed_from_the_tree_are_removed_by_the_next_commit(mirror, daemon):
    first = mirror.add(p1=2)
    publish(mirror, daemon.url("a.git"))
    for relpath in first[:2]:  # a page and its QR image
        (mirror.path / relpath).unlink()
    publish(mirror, daemon.url("a.git"))
    remote = daemon.root / "a.git"
    assert subjects(remote)[0] == "1 removed"
    assert files_on(remote) == mirror.published()


def test_a_run_with_no_change_neither_commits_nor_pushes(mirror, daemon):
    mirror.add(p1=1)
    publish(mirror, daemon.url("a.git"))
    daemon.stop()  # a push would now fail: none is tried
    outcome = publish(mirror, daemon.url("a.git"))
    assert outcome.commit is None and not outcome.failed
    assert outcome.remotes[0].attempts == 0
    assert git("-C", str(mirror.path), "rev-list", "--count", "HEAD") == "1"


def test_a_remote_down_gets_everything_once_it_is_back(mirror, daemon, caplog):
    daemon.stop()
    mirror.add(p1=1)
    first = publish(mirror, daemon.url("a.git"), retries=2)
    assert first.commit and first.failed
    assert first.remotes[0].attempts == 3 and first.remotes[0].pending == 1
    assert "push to git://127.0.0.1" in caplog.text and "failed" in caplog.text
    mirror.add(p3=1)
    assert publish(mirror, daemon.url("a.git")).remotes[0].pending == 2
    daemon.start()
    back = publish(mirror, daemon.url("a.git"))
    assert not back.failed and back.commit is None and back.remotes[0].pushed == 2
    remote = daemon.root / "a.git"
    assert files_on(remote) == mirror.published()
    assert subjects(remote) == ["1 new article: p3 1", "1 new article: p1 1"]


def test_one_remote_down_does_not_hold_back_the_other(mirror, daemon, tmp_path):
    daemon.stop()
    by_path = bare_repo(tmp_path / "b.git")
    mirror.add(p1=1)
    outcome = publish(mirror, daemon.url("a.git"), str(by_path))
    down, up = outcome.remotes
    assert down.error and down.pending == 1
    assert up.error is None and up.pushed == 1
    assert files_on(by_path) == mirror.published()


def test_a_remote_that_hangs_is_cut_off_at_the_time_limit_and_holds_no_other_back(
        mirror, tmp_path):
    by_path = bare_repo(tmp_path / "b.git")
    mirror.add(p1=1)
    with SilentServer() as silent:
        outcome = publish(mirror, silent.url("a.git"), str(by_path), timeout=2)
    hung, up = outcome.remotes
    assert "timed out" in hung.error and hung.pending == 1
    assert up.error is None and files_on(by_path) == mirror.published()


def test_refused_credentials_are_reported_and_no_secret_is_written(
        mirror, tmp_path, caplog):
    root = tmp_path / "served"
    bare_repo(root / "a.git")
    mirror.add(p1=1)
    with GitHttp(root, password="right-secret") as http:
        refused = publish(mirror, http.url("a.git", password="wrong-secret"))
        assert "Authentication failed" in refused.remotes[0].error
        accepted = publish(mirror, http.url("a.git"))
    assert not accepted.failed and accepted.remotes[0].pushed == 1
    assert files_on(root / "a.git") == mirror.published()
    shown = caplog.text + repr(refused) + repr(accepted)
    assert "***@127.0.0.1" in shown
    for secret in (b"right-secret", b"wrong-secret"):
        assert secret not in shown.encode()
        assert not any(secret in p.read_bytes() for p in mirror.path.rglob("*")
                       if p.is_file())


def test_a_remote_that_moved_on_gets_the_mirror_on_top_of_its_commits(
        mirror, daemon, tmp_path):
    mirror.add(p1=1)
    publish(mirror, daemon.url("a.git"))
    other = tmp_path / "someone"
    git("clone", "-q", daemon.url("a.git"), str(other))
    (other / "LICENSE").write_text("CC0\n")
    (other / layout.HOME).write_text("edited on the host\n")
    git("add", ".", cwd=other)
    git("commit", "-q", "-m", "someone's commit", cwd=other)
    git("push", "-q", "origin", "master", cwd=other)
    mirror.add(p2=1)
    outcome = publish(mirror, daemon.url("a.git"))
    assert not outcome.failed
    remote = daemon.root / "a.git"
    assert subjects(remote) == ["1 new article: p2 1", "someone's commit",
                                "1 new article: p1 1"]
    assert files_on(remote) == mirror.published() | {"LICENSE"}
    # The mirror's home page won over the host's edit.
    assert git("-C", str(remote), "show", f"master:{layout.HOME}") == \
        (mirror.path / layout.HOME).read_text().strip()


def test_a_remote_the_host_made_with_its_own_readme_ends_up_like_the_other(
        mirror, daemon, tmp_path):
    by_path = bare_repo(tmp_path / "b.git")
    made = tmp_path / "made-by-host"
    git("init", "-q", "-b", "master", str(made))
    (made / layout.HOME).write_text("# mirror\n")
    git("add", ".", cwd=made)
    git("commit", "-q", "-m", "Initial commit", cwd=made)
    git("push", "-q", str(by_path), "master", cwd=made)
    mirror.add(p1=1)
    remotes = (daemon.url("a.git"), str(by_path))
    publish(mirror, *remotes)
    mirror.add(p2=1)
    outcome = publish(mirror, *remotes)
    assert not outcome.failed
    a, b = daemon.root / "a.git", by_path
    assert git("-C", str(a), "rev-parse", "master") == git("-C", str(b), "rev-parse", "master")
    assert files_on(a) == files_on(b) == mirror.published()
    assert "Initial commit" in subjects(b)
    assert git("-C", str(b), "show", f"master:{layout.HOME}") == \
        (mirror.path / layout.HOME).read_text().strip()


def test_a_file_the_host_refuses_is_reported_with_the_hosts_words(
        mirror, daemon, tmp_path):
    refuse_blobs_over(daemon.root / "a.git", 1000)
    by_path = bare_repo(tmp_path / "b.git")
    mirror.add(p1=1)
    mirror.write("images/big.jpg", os.urandom(5000))
    outcome = publish(mirror, daemon.url("a.git"), str(by_path))
    refused, taken = outcome.remotes
    assert "push rejected" in refused.error and "GH001" in refused.error
    assert taken.error is None and "images/big.jpg" in files_on(by_path)


def test_files_outside_the_published_tree_and_too_large_stay_out(
        mirror, daemon, monkeypatch, caplog):
    monkeypatch.setattr(publisher, "MAX_FILE_BYTES", 1000)
    mirror.add(p1=1)
    mirror.write("images/huge.jpg", b"x" * 1001)
    mirror.write("items.json", "[]")  # e.g. an items feed put in the mirror
    outcome = publish(mirror, daemon.url("a.git"))
    assert outcome.skipped_large == ["images/huge.jpg"]
    assert "not published, larger than a Git host takes: images/huge.jpg" in caplog.text
    assert files_on(daemon.root / "a.git") == mirror.published() - {
        "images/huge.jpg", "items.json"}


def publish_command(mirror: Mirror, *remotes: str) -> list[str]:
    return [sys.executable, "-m", "newsmirror.publish",
            "-s", f"MIRROR_DIR={mirror.path}", "-s", f"PUBLISH_TO={','.join(remotes)}",
            "-s", "PUBLISH_RETRIES=0", "-s", "PUBLISH_TIMEOUT=60"]


def start_publisher(mirror: Mirror, *remotes: str) -> subprocess.Popen:
    return subprocess.Popen(publish_command(mirror, *remotes), cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_publisher(mirror: Mirror, *remotes: str) -> subprocess.CompletedProcess:
    return subprocess.run(publish_command(mirror, *remotes), cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=120)


def wait_for(path: Path, process: subprocess.Popen) -> None:
    """Until path exists (the process got that far) or the process ended."""
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(process.stderr.read())
        time.sleep(0.01)


def block_until(marker: Path, release: Path) -> str:
    """Hook text: say we got here (with our process group), then wait."""
    return (f'ps -o pgid= $$ > "{marker}.tmp"; mv "{marker}.tmp" "{marker}"\n'
            f'while [ ! -e "{release}" ]; do sleep 0.02; done\n')


def test_killed_during_commit_the_next_run_repairs_and_commits_once(
        mirror, daemon, tmp_path):
    mirror.add(p1=2)
    publish(mirror, daemon.url("a.git"))
    mirror.add(p2=1)
    marker, release = tmp_path / "in-commit", tmp_path / "release"
    # Stops git commit with its commit written and the branch's ref locked.
    install_hook(mirror.path, "reference-transaction",
                 f'[ "$1" = prepared ] || exit 0\n{block_until(marker, release)}')
    process = start_publisher(mirror, daemon.url("a.git"))
    wait_for(marker, process)
    process.kill()
    os.killpg(int(marker.read_text()), signal.SIGKILL)  # git commit too
    process.wait()
    (mirror.path / ".git/hooks/reference-transaction").unlink()
    assert (mirror.path / ".git/refs/heads/master.lock").exists()
    # As a git add killed while writing the index leaves it.
    (mirror.path / ".git/index.lock").write_bytes(b"")
    result = run_publisher(mirror, daemon.url("a.git"))
    assert result.returncode == 0, result.stderr
    assert "repaired what a killed publish left: index.lock, HEAD.lock, " \
           "refs/heads/master.lock" in result.stderr
    remote = daemon.root / "a.git"
    assert subjects(remote) == ["1 new article: p2 1", "2 new articles: p1 2"]
    assert files_on(remote) == mirror.published()


def test_killed_during_push_the_next_run_delivers_without_a_second_commit(
        mirror, daemon, tmp_path):
    mirror.add(p1=1)
    marker, release = tmp_path / "in-push", tmp_path / "release"
    install_hook(daemon.root / "a.git", "pre-receive", block_until(marker, release))
    process = start_publisher(mirror, daemon.url("a.git"))
    wait_for(marker, process)
    process.kill()
    process.wait()
    release.touch()  # the server side ends its receive however it can
    (daemon.root / "a.git/hooks/pre-receive").unlink()
    mirror.add(p2=1)
    result = run_publisher(mirror, daemon.url("a.git"))
    assert result.returncode == 0, result.stderr
    remote = daemon.root / "a.git"
    assert subjects(remote) == ["1 new article: p2 1", "1 new article: p1 1"]
    assert files_on(remote) == mirror.published()
    again = run_publisher(mirror, daemon.url("a.git"))
    assert "nothing new to commit" in again.stdout and "(0 commits pushed)" in again.stdout


def test_two_publishers_at_once_on_one_tree_make_one_commit(mirror, daemon, tmp_path):
    mirror.add(p1=2)
    marker, release = tmp_path / "in-push", tmp_path / "release"
    install_hook(daemon.root / "a.git", "pre-receive", block_until(marker, release))
    first = start_publisher(mirror, daemon.url("a.git"))
    wait_for(marker, first)  # the first holds the lock, in its push
    second = start_publisher(mirror, daemon.url("a.git"))
    release.touch()
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert subjects(daemon.root / "a.git") == ["2 new articles: p1 2"]
    assert sorted(out.splitlines()[0] for out, _ in outputs) == [
        "commit " + git("-C", str(mirror.path), "rev-parse", "--short=12", "HEAD")
        + ": 2 new articles: p1 2", "nothing new to commit"]


def test_pending_reports_what_each_remote_lacks(mirror, daemon, tmp_path):
    by_path = bare_repo(tmp_path / "b.git")
    daemon.stop()
    mirror.add(p1=1)
    publish(mirror, daemon.url("a.git"), str(by_path))
    result = subprocess.run(publish_command(mirror, daemon.url("a.git"), str(by_path))
                            + ["--pending"], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.stdout.splitlines() == [f"{daemon.url('a.git')}: 1 commits pending",
                                          f"{by_path}: 0 commits pending"]


def test_the_log_names_the_remote_but_never_its_token(mirror, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    mirror.add(p1=1)
    outcome = publish(mirror, "http://user:tok3n@127.0.0.1:1/a.git")  # nothing listens
    assert outcome.remotes[0].url == "http://***@127.0.0.1:1/a.git"
    assert "tok3n" not in caplog.text + repr(outcome)
