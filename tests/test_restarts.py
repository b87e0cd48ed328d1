"""A crawl killed with SIGKILL at any moment, then restarted (with JOBDIR
and without), ends with the complete mirror: the very files of a crawl that
was never killed, so no partial or empty page or image, no duplicate index
entry, no article missing. A crawl stopped with Ctrl-C twice leaves no
half-written items feed; a second crawl on a tree being crawled refuses.

Each kill waits for an observable event: a request reaching the test
server (held there by a gate, so the crawl cannot finish first) or files
appearing in the mirror.
"""
import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from newsmirror.sample.server import SiteServer, sample_site
from tests.conftest import ROOT, SAMPLE, crawl_command, run_crawl
from tests.mirror_checks import mirrored_files

pytestmark = pytest.mark.e2e
FEED = "/news/gb/p5.xml"
LAST = "/news/gb/2024/05/11/1100006.html"  # held back until the kill


class Gate:
    """A route that holds its request until released."""

    def __init__(self, server: SiteServer, path: str):
        self.reached = threading.Event()
        self.release = threading.Event()
        server.routes[path] = self.answer
        self.server = server

    def answer(self, path):
        self.reached.set()
        self.release.wait(60)
        return self.server.static(path)


def wait_for(what, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Poll for an event in the crawl; fail if the crawl ends first."""
    deadline = time.monotonic() + timeout
    while not what():
        assert proc.poll() is None, "the crawl ended before the kill point"
        assert time.monotonic() < deadline, "kill point not reached"
        time.sleep(0.005)


def pages(mirror: Path, suffix: str) -> int:
    return len(list(mirror.glob(f"pages/**/*{suffix}")))


# kill point -> (gated path, event to kill at)
KILL_POINTS = {
    "reading the feeds": (FEED, None),
    "first page written": (LAST, lambda m: pages(m, ".md") >= 1),
    "first list pages written": (LAST, lambda m: (m / "README.md").exists()),
    "all but one article mirrored": (LAST, lambda m: pages(m, ".md.png") >= 5),
}


@pytest.fixture(scope="module")
def site():
    with SiteServer(sample_site()) as server:
        yield server


@pytest.fixture(scope="module")
def never_killed(site, tmp_path_factory):
    mirror = tmp_path_factory.mktemp("clean") / "mirror"
    result = run_crawl(site.base_url, mirror)
    assert result.returncode == 0, result.stderr[-3000:]
    return mirrored_files(mirror)


@pytest.mark.parametrize("jobdir", [False, True], ids=["no-jobdir", "jobdir"])
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_crawl_killed_then_restarted_ends_with_the_complete_mirror(
        site, never_killed, tmp_path, point, jobdir):
    mirror = tmp_path / "mirror"
    settings = {"MIRROR_INDEX_EVERY": 1, "MIRROR_CATALOG_BATCH": 1}
    if jobdir:
        settings["JOBDIR"] = tmp_path / "job"
    gated, event = KILL_POINTS[point]
    gate = Gate(site, gated)
    log = (tmp_path / "killed.log").open("w")
    cmd, env = crawl_command(site.base_url, mirror, **settings)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_for(gate.reached.is_set if event is None else lambda: event(mirror), proc)
        proc.kill()
        assert proc.wait() == -9
    finally:
        proc.kill()
        proc.wait()
        log.close()
        gate.release.set()
        del site.routes[gated]
    restarted = run_crawl(site.base_url, mirror, **settings)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert "Traceback" not in restarted.stderr, restarted.stderr[-3000:]
    assert mirrored_files(mirror) == never_killed


def test_jobdir_does_not_keep_seen_requests_between_runs(make_crawler, tmp_path):
    crawler = make_crawler(JOBDIR=str(tmp_path / "job"))
    assert crawler.settings["DUPEFILTER_CLASS"] == "newsmirror.addons.jobdir.RunDupeFilter"
    # REDIS_URL's add-on brings its shared filter: it is left alone.
    redis = make_crawler(JOBDIR=str(tmp_path / "job"), REDIS_URL="redis://127.0.0.1:1/0")
    assert redis.settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"


def test_a_second_run_with_the_same_jobdir_reads_the_feeds(site, tmp_path):
    # With Scrapy's saved filter it fetched nothing at all.
    job = tmp_path / "job"
    assert run_crawl(site.base_url, tmp_path / "mirror", JOBDIR=job).returncode == 0
    site.requests.clear()
    again = run_crawl(site.base_url, tmp_path / "mirror", JOBDIR=job)
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(p for p in site.requests if p.endswith(".xml")) == [
        f"/news/gb/p{i}.xml" for i in range(1, 10)]
    assert not (job / "requests.seen").exists()


def test_ctrl_c_twice_leaves_no_half_written_items_feed(site, tmp_path):
    mirror, items = tmp_path / "mirror", tmp_path / "mirror-items"
    gate = Gate(site, LAST)
    log_path = tmp_path / "stopped.log"
    cmd, env = crawl_command(site.base_url, mirror)
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        # Items are in the feed (pages written, after the feed exporter
        # saw them) and the last article is held: the feed is open.
        wait_for(lambda: gate.reached.is_set() and pages(mirror, ".md.png") >= 5, proc)
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "shutting down gracefully" in log_path.read_text(), proc)
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        assert "forcing unclean shutdown" in log_path.read_text()
    finally:
        proc.kill()
        proc.wait()
        gate.release.set()
        del site.routes[LAST]
    assert list(items.glob("*.json")) == []
    assert len(list(items.glob(".*.tmp"))) == 1  # unfinished, hidden
    # The next crawl removes it and writes its own feed whole.
    again = run_crawl(site.base_url, mirror)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "removed 1 unfinished feed files" in again.stderr
    [feed] = items.glob("*.json")
    # Every article: the stopped crawl had recorded none in the catalog
    # (MIRROR_CATALOG_BATCH), so all are mirrored again.
    assert len(json.loads(feed.read_text("utf-8"))) == 6
    assert list(items.glob(".*")) == []


def test_a_second_crawl_on_the_same_tree_refuses_to_start(site, tmp_path):
    mirror = tmp_path / "mirror"
    site.requests.clear()
    gate = Gate(site, LAST)
    log = (tmp_path / "first.log").open("w")
    # One request at a time: while held, the first crawl sends no page
    # request; only the images of articles it already has (the images
    # pipeline downloads outside CONCURRENT_REQUESTS).
    cmd, env = crawl_command(site.base_url, mirror, CONCURRENT_REQUESTS=1)
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_for(gate.reached.is_set, first)
        sent = len(site.requests)
        second = run_crawl(site.base_url, mirror, timeout=60)
        # The second sent nothing: not even robots.txt or a feed.
        assert [p for p in site.requests[sent:] if not p.startswith("/_hosts/")] == []
        gate.release.set()
        assert first.wait(60) == 0
    finally:
        first.kill()
        first.wait()
        log.close()
        gate.release.set()
        del site.routes[LAST]
    assert second.returncode == 1
    assert f"another crawl is writing to {mirror} (it holds .newsmirror/crawl.lock); " \
           "the crawl did not start" in second.stderr
    assert "Traceback" not in second.stderr
    articles = [p for p in site.requests if p.endswith(".html")]
    assert len(articles) == 6 == len(set(articles))


def test_a_crawl_stopped_with_ctrl_c_resumes_with_jobdir_fetching_each_article_once(
        site, never_killed, tmp_path):
    site.requests.clear()
    mirror, log_path = tmp_path / "mirror", tmp_path / "stopped.log"
    # One request at a time, the first article held: the others wait in
    # the queue when Ctrl-C comes.
    settings = {"JOBDIR": tmp_path / "job", "CONCURRENT_REQUESTS": 1}
    paths = ["/" + p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*.html")]
    reached, release = threading.Event(), threading.Event()

    def hold_the_first(path):
        if not reached.is_set():
            reached.set()
            release.wait(60)
        return site.static(path)
    site.routes.update(dict.fromkeys(paths, hold_the_first))
    cmd, env = crawl_command(site.base_url, mirror, **settings)
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_for(reached.is_set, proc)
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "shutting down gracefully" in log_path.read_text(), proc)
        release.set()
        assert proc.wait(60) == 0
    finally:
        proc.kill()
        proc.wait()
        release.set()
        for path in paths:
            del site.routes[path]
    resumed = run_crawl(site.base_url, mirror, **settings)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert re.search(r"Resuming crawl \(([2-9]|\d\d+) requests scheduled\)", resumed.stderr)
    articles = [p for p in site.requests if p.endswith(".html")]
    assert sorted(articles) == sorted(set(articles)) and len(articles) == 6, articles
    assert mirrored_files(mirror) == never_killed
