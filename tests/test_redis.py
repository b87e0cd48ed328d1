"""Several `scrapy crawl secretchina` workers sharing one Redis queue.

A real redis-server on a free loopback port, a generated site large enough
to share, and the test server's request log as the witness. Article
requests are held at the server by a gate, so the tests know, without
sleeping, that every worker is fetching, or which requests a killed worker
had in flight.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from newsmirror.mirror.layout import tag_page_path
from newsmirror.sample.server import SiteServer
from tests.conftest import CRAWL_SETTINGS, ROOT, SAMPLE, crawl_command, free_port, run_crawl
from tests.mirror_checks import check_page, snapshot

pytestmark = pytest.mark.redis

PER_CHANNEL = 5  # 45 articles over p1…p9
TEMPLATES = sorted(SAMPLE.glob("news/gb/2024/*/*/*.html"))
WORKER = {
    # Two requests at a time in a worker's downloader: a worker never has
    # more than two at the gate, so six there means three workers fetching.
    # (CONCURRENT_REQUESTS_PER_DOMAIN is not enforced without a download
    # delay in Scrapy 2.19: a burst starts all the queued requests.)
    "CONCURRENT_REQUESTS": "2",
    # Every article on the home page and in the feed, to check them all.
    "MIRROR_HOME_SIZE": "1000",
    "MIRROR_FEED_SIZE": "1000",
}
WAIT = 60  # seconds: a safety limit on waits, never a synchronisation


@pytest.fixture
def redis_url(tmp_path):
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: .ci/run installs it")
        pytest.skip("redis-server is not installed (.ci/run installs it): "
                    "Redis tests not run")
    port = free_port()
    server = subprocess.Popen(
        [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        for line in server.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            pytest.fail(f"redis-server did not start on port {port}")
        threading.Thread(target=server.stdout.read, daemon=True).start()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.kill()
        server.wait()


def build_site(root: Path) -> dict[str, str]:
    """The sample's pages under new ids, five per channel: {id: path}."""
    (root / "news/gb").mkdir(parents=True)
    shutil.copy(SAMPLE / "robots.txt", root / "robots.txt")
    shutil.copytree(SAMPLE / "_hosts", root / "_hosts")  # the pages' images
    articles = {}
    for c in range(1, 10):
        items = []
        for j in range(PER_CHANNEL):
            template = TEMPLATES[(c + j) % len(TEMPLATES)]
            old_id, new_id = template.stem, f"12{c}{j:04d}"
            day = f"2024/06/{c + j:02d}"
            old_path = "/".join(template.parts[-6:-1])
            path = f"/news/gb/{day}/{new_id}.html"
            html = template.read_text("utf-8").replace(
                f"{old_path}/{old_id}", f"news/gb/{day}/{new_id}")
            (root / path[1:]).parent.mkdir(parents=True, exist_ok=True)
            (root / path[1:]).write_text(html, "utf-8")
            articles[new_id] = path
            link = f"https://www.secretchina.com{path}"
            items.append(f"<item><title>文章 {new_id}</title><link>{link}</link>"
                         f"<guid>{link}</guid></item>")
        (root / f"news/gb/p{c}.xml").write_text(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>p{c}</title>{''.join(items)}</channel></rss>", "utf-8")
    return articles


class Gate:
    """Holds article requests at the server until opened."""

    def __init__(self, server: SiteServer, paths):
        self.server = server
        self.cond = threading.Condition()
        self.arrived: list[str] = []
        self.opened = False
        server.routes.update({p: self.answer for p in paths})

    def answer(self, path: str):
        with self.cond:
            self.arrived.append(path)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.opened, timeout=WAIT)
        return self.server.static(path)

    def wait_for(self, n: int) -> list[str]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.arrived) >= n, timeout=WAIT), \
                f"only {self.arrived} reached the server"
            return list(self.arrived)

    def open(self) -> None:
        with self.cond:
            self.opened = True
            self.cond.notify_all()


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    articles = build_site(root)
    with SiteServer(root) as server:
        yield server, articles, Gate(server, articles.values())


class Worker:
    """One `scrapy crawl secretchina` process; its log is read as it comes."""

    def __init__(self, cmd: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self.ended = False
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.ended = True
            self.cond.notify_all()

    def wait_for_line(self, text: str) -> None:
        def seen():
            return any(text in line for line in self.lines)
        with self.cond:
            self.cond.wait_for(lambda: seen() or self.ended, timeout=WAIT)
            assert seen(), "".join(self.lines)[-3000:]

    def finish(self) -> str:
        self.proc.wait(timeout=WAIT)
        self.reader.join(WAIT)
        log = "".join(self.lines)
        assert self.proc.returncode == 0, log[-3000:]
        return log


class Workers:
    """Workers on one site, mirror and Redis; any left running are killed."""

    def __init__(self, base_url: str, mirror: Path, **settings):
        self.base_url, self.mirror = base_url, mirror
        self.settings = {**WORKER, **settings}
        self.started: list[Worker] = []

    def start(self) -> Worker:
        worker = Worker(*crawl_command(self.base_url, self.mirror, **self.settings))
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.proc.poll() is None:
                worker.proc.kill()
            worker.proc.wait()


@pytest.fixture
def workers(tmp_path, site, redis_url):
    server, _, _ = site
    group = Workers(server.base_url, tmp_path / "mirror", REDIS_URL=redis_url)
    try:
        yield group
    finally:
        group.stop_all()


def articles_mirrored(log: str) -> int:
    line = next(x for x in log.splitlines() if "mirror summary:" in x)
    return int(line.split("mirror summary: ")[1].split()[0])


def article_requests(server: SiteServer) -> Counter:
    return Counter(p for p in server.requests if p.endswith(".html"))


def check_mirror(mirror: Path, articles: dict[str, str]) -> None:
    """Every article has its page, once in every list it belongs to."""
    base_url = CRAWL_SETTINGS["MIRROR_BASE_URL"]
    pages = {p.stem: p for p in mirror.glob("pages/**/*.md")}
    assert sorted(pages) == sorted(articles)
    for page in pages.values():
        check_page(page, base_url, mirror)
    db = sqlite3.connect(mirror / ".newsmirror/catalog.sqlite3")
    rows = db.execute("SELECT id, channel, page_path FROM articles").fetchall()
    assert sorted(i for i, _, _ in rows) == sorted(articles)
    tags = db.execute("SELECT tag, id FROM article_tags").fetchall()
    db.close()
    page_path = {i: path for i, _, path in rows}

    def listed(relpath: str, prefix: str) -> Counter:
        text = (mirror / relpath).read_text("utf-8")
        return Counter({i: n for i in articles if (n := text.count(
            f"]({prefix}{page_path[i]})"))})

    for c in range(1, 10):
        assert listed(f"indexes/secretchina/p{c}.md", "../../") == Counter(
            {i: 1 for i, ch, _ in rows if ch == f"p{c}"})
    assert listed("README.md", "") == Counter(dict.fromkeys(articles, 1))
    for tag in {t for t, _ in tags}:
        assert listed(tag_page_path(tag), "../../") == Counter(
            {i: 1 for t, i in tags if t == tag}), tag
    feed = json.loads((mirror / "feed.json").read_text("utf-8"))
    assert Counter(Path(item["url"]).stem for item in feed["items"]) == \
        Counter(dict.fromkeys(articles, 1))


def test_three_workers_share_the_crawl_and_fetch_each_article_once(
        site, workers, redis_url):
    server, articles, gate = site
    procs = [workers.start() for _ in range(3)]
    gate.wait_for(6)  # two downloads from each of the three workers
    gate.open()
    logs = [p.finish() for p in procs]

    written = [articles_mirrored(log) for log in logs]
    assert sum(written) == len(articles) and min(written) >= 2, written
    assert article_requests(server) == Counter(dict.fromkeys(articles.values(), 1))
    feeds = Counter(p for p in server.requests if p.endswith(".xml"))
    assert feeds == Counter({f"/news/gb/p{c}.xml": 1 for c in range(1, 10)})
    check_mirror(workers.mirror, articles)
    assert redis.Redis.from_url(redis_url).keys("secretchina:*") == []

    # A new round: the feeds are read again, no article is fetched.
    before = snapshot(workers.mirror)
    server.requests.clear()
    again = run_crawl(server.base_url, workers.mirror, **workers.settings)
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(server.requests) == sorted(
        ["/robots.txt"] + [f"/news/gb/p{c}.xml" for c in range(1, 10)])
    assert (f"0 articles mirrored (0 pages new or changed), {len(articles)} skipped "
            "as already mirrored") in again.stderr
    assert snapshot(workers.mirror) == before


def test_a_killed_workers_requests_are_finished_by_another(site, workers, redis_url):
    server, articles, gate = site
    workers.settings["REDIS_WORKER_LEASE"] = "2"
    doomed = workers.start()
    in_flight = gate.wait_for(2)  # both of its downloads are at the gate
    survivor = workers.start()
    gate.wait_for(4)  # the survivor is fetching too
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait()
    r = redis.Redis.from_url(redis_url)
    held = {k.decode(): {urlsplit(pickle.loads(m)["url"]).path for m in r.hkeys(k)}
            for k in r.keys("secretchina:held:*")}
    assert len(held) == 2, held
    doomed_held = next(v for k, v in held.items() if f":{doomed.proc.pid}:" in k)
    assert set(in_flight) <= doomed_held
    gate.open()
    log = survivor.finish()

    assert "back in the queue" in log
    assert articles_mirrored(log) == len(articles)
    # Only the two requests the killed worker had sent were sent again.
    fetched = article_requests(server)
    assert set(fetched) == set(articles.values())
    assert {p for p, n in fetched.items() if n > 1} == set(in_flight)
    assert max(fetched.values()) == 2
    check_mirror(workers.mirror, articles)
    assert r.keys("secretchina:*") == []


def test_a_stopped_worker_finishes_what_it_holds_and_the_next_resumes(
        site, workers, redis_url):
    server, articles, gate = site
    first = workers.start()
    in_flight = gate.wait_for(2)
    first.proc.send_signal(signal.SIGINT)  # Ctrl-C
    first.wait_for_line("shutting down gracefully")
    gate.open()
    log = first.finish()
    assert articles_mirrored(log) == 2  # the two requests it had in flight
    assert {p.stem for p in workers.mirror.glob("pages/**/*.md")} == {
        Path(p).stem for p in in_flight}
    r = redis.Redis.from_url(redis_url)
    assert r.keys("secretchina:held:*") == [] and r.zcard("secretchina:requests") > 0

    log = workers.start().finish()
    assert articles_mirrored(log) == len(articles) - 2
    assert article_requests(server) == Counter(dict.fromkeys(articles.values(), 1))
    check_mirror(workers.mirror, articles)
    assert r.keys("secretchina:*") == []
