"""Transient faults are retried with backoff through Scrapy's retry
machinery, Retry-After is honoured, a truncated page is never published,
404/410 articles are skipped and mirrored once they are back.

Unit tests of the retry middleware, then whole crawls against the sample
site with a fixed sequence of faults per path, then (when /work/shared is
there) the real corpus behind serve_site.py --faults 0.2.
"""
import asyncio
import os
import re
import subprocess
import sys
import threading
from collections import deque
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import DownloadTimeoutError, ResponseDataLossError
from scrapy.http import Response
from twisted.internet.error import ConnectionLost

from newsmirror.middlewares import retry as retry_module
from newsmirror.middlewares.retry import BackoffRetryMiddleware, retry_after_seconds
from newsmirror.sample.server import SiteServer, sample_site
from tests.conftest import CRAWL_SETTINGS, ROOT, run_crawl
from tests.mirror_checks import check_page, crawl_stats, mirrored_files

URL = "https://www.secretchina.com/news/gb/2024/05/06/1100001.html"
IMAGE_LINK = re.compile(r"(?:\.\./)+images/[0-9a-f]{2}/[0-9a-f]{40}\.jpg")

# Retry-After and backoff


NOW = datetime(2024, 5, 6, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("header,seconds", [
    (b"7", 7.0), (b" 120 ", 120.0), (b"0", 0.0),
    (format_datetime(NOW + timedelta(seconds=90), usegmt=True).encode(), 90.0),
    (format_datetime(NOW - timedelta(hours=1), usegmt=True).encode(), 0.0),
    (b"soon", None), (b"-5", None), (b"", None), (None, None),
])
def test_retry_after_is_read_as_seconds_or_an_http_date(header, seconds):
    assert retry_after_seconds(header, now=NOW) == seconds


@pytest.fixture
def slept(monkeypatch):
    waits = []

    async def fake_sleep(seconds):
        waits.append(seconds)
    monkeypatch.setattr(retry_module, "sleep", fake_sleep)
    return waits


@pytest.fixture
def middleware(make_crawler):
    crawler = make_crawler(RETRY_BACKOFF_BASE=2.0, RETRY_BACKOFF_MAX=60.0, RETRY_TIMES=3)
    return BackoffRetryMiddleware.from_crawler(crawler)


def respond(mw, request, status, headers=None):
    response = Response(request.url, status=status, headers=headers, request=request)
    return asyncio.run(mw.process_response(request, response))


def test_retries_back_off_exponentially_then_give_up(middleware, slept):
    request = Request(URL)
    for _ in range(3):
        request = respond(middleware, request, 500)
        assert isinstance(request, Request)
    final = respond(middleware, request, 500)
    assert isinstance(final, Response) and final.status == 500
    assert slept == [2.0, 4.0, 8.0]
    stats = middleware.crawler.stats
    assert stats.get_value("retry/count") == 3
    assert stats.get_value("retry/max_reached") == 1


@pytest.mark.parametrize("retry_after,waited", [(b"30", 30.0), (b"1", 2.0), (b"3600", 60.0)])
def test_retry_after_is_honoured_up_to_the_maximum(middleware, slept, retry_after, waited):
    retry = respond(middleware, Request(URL), 503, {"Retry-After": retry_after})
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1
    assert slept == [waited]
    assert middleware.crawler.stats.get_value("newsmirror/retry/retry_after") == 1


@pytest.mark.parametrize("status", [200, 404, 410])
def test_answers_that_are_no_transient_fault_pass_without_waiting(middleware, slept, status):
    assert respond(middleware, Request(URL), status).status == status
    assert slept == []


def test_a_request_can_name_its_own_codes_to_retry(middleware, slept):
    image = Request(URL, meta={"retry_http_codes": {404, 503}})
    retry = respond(middleware, image, 404)
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1
    assert respond(middleware, image, 500).status == 500
    assert slept == [2.0]


def test_dont_retry_is_respected(middleware, slept):
    assert respond(middleware, Request(URL, meta={"dont_retry": True}), 503).status == 503
    assert slept == []


@pytest.mark.parametrize("exc", [ResponseDataLossError(), DownloadTimeoutError(),
                                 ConnectionLost()])
def test_download_errors_are_retried_with_backoff(middleware, slept, exc):
    retry = asyncio.run(middleware.process_exception(Request(URL), exc))
    assert isinstance(retry, Request) and retry.dont_filter
    assert slept == [2.0]


def test_truncated_bodies_fail_and_are_retried_by_default(crawler):
    # Never published: Scrapy fails a body shorter than its Content-Length.
    assert crawler.settings.getbool("DOWNLOAD_FAIL_ON_DATALOSS")
    assert "scrapy.exceptions.ResponseDataLossError" in crawler.settings.getlist(
        "RETRY_EXCEPTIONS")
    assert 404 not in crawler.settings.getlist("RETRY_HTTP_CODES")


# Whole crawls with a fixed sequence of faults per path

A1, A2, A3, A4, A5, A6 = (f"/news/gb/2024/05/{d:02d}/110000{d - 5}.html"
                          for d in range(6, 12))


class Faults:
    """Routes that answer each path's faults in order, then the real page."""

    def __init__(self, server: SiteServer, plan: dict[str, list[str]]):
        self.server = server
        self.plan = {path: deque(faults) for path, faults in plan.items()}
        self.release = threading.Event()  # ends every stall
        server.routes.update({path: self.answer for path in plan})

    def answer(self, path):
        faults = self.plan[path]
        fault = faults.popleft() if faults else "ok"
        page = self.server.static(path)
        status, headers, body = page
        if fault == "ok":
            return page
        if fault in ("500", "404", "410"):
            return int(fault), {"Content-Type": "text/plain"}, b"fault"
        if fault == "503":
            return 503, {"Content-Type": "text/plain", "Retry-After": "1"}, b"busy"
        if fault == "reset":
            return None
        if fault == "stall":
            self.release.wait(30)
            return page
        if fault == "truncate":  # fewer bytes than announced, then hang up
            return status, {**headers, "Content-Length": str(len(body)),
                            "Connection": "close"}, body[: len(body) // 3]
        if fault == "cut":  # cut short, and the length says that is all
            return status, headers, body[: len(body) // 2]
        raise ValueError(fault)


PLAN = {
    "/news/gb/p1.xml": ["503"],
    A1: ["500", "503"],
    A2: ["truncate"],
    A3: ["reset"],
    A4: ["stall"],
    A5: ["404"],
    A6: ["cut", "truncate"],
}
FAST_RETRIES = {"DOWNLOAD_TIMEOUT": 1, "RETRY_BACKOFF_BASE": 0.05}


@pytest.fixture(scope="module")
def faulty_crawls(tmp_path_factory):
    """A clean crawl, a crawl with faults, and the rerun after it."""
    tmp = tmp_path_factory.mktemp("faults")
    with SiteServer(sample_site()) as server:
        clean = run_crawl(server.base_url, tmp / "clean")
        assert clean.returncode == 0, clean.stderr[-3000:]
        faults = Faults(server, PLAN)
        server.requests.clear()
        try:
            first = run_crawl(server.base_url, tmp / "mirror", **FAST_RETRIES)
        finally:
            faults.release.set()
        first_requests, first_files = list(server.requests), mirrored_files(tmp / "mirror")
        server.requests.clear()
        rerun = run_crawl(server.base_url, tmp / "mirror", **FAST_RETRIES)
        yield tmp, (first, first_requests, first_files), (rerun, list(server.requests))


def test_transient_faults_are_retried_until_the_page_is_whole(faulty_crawls):
    _, (first, requests, _), _ = faulty_crawls
    assert first.returncode == 0, first.stderr[-3000:]
    for path, faults in PLAN.items():
        assert requests.count(path) == len(faults) + (path != A5), path
    stats = crawl_stats(first.stderr)
    reasons = {k.removeprefix("retry/reason_count/"): v for k, v in stats.items()
               if k.startswith("retry/reason_count/")}
    # A3's dropped connection was a kept-alive one: Twisted itself
    # resends the request once on a new connection, Scrapy never sees it.
    assert reasons == {
        "500 Internal Server Error": 1, "503 Service Unavailable": 2,
        "scrapy.exceptions.ResponseDataLossError": 2,
        "scrapy.exceptions.DownloadTimeoutError": 1, "truncated": 1}
    assert stats["newsmirror/retry/retry_after"] == 2
    assert "Retry-After 1 s" in first.stderr
    assert stats.get("retry/max_reached") is None


def test_no_truncated_page_is_published(faulty_crawls):
    tmp, (_, _, mirror), _ = faulty_crawls
    clean = mirrored_files(tmp / "clean")
    pages = {p for p in clean if p.startswith("pages/") and "1100005" not in p}
    assert {p for p in mirror if p.startswith("pages/")} == pages
    assert {p: mirror[p] for p in pages} == {p: clean[p] for p in pages}


def test_gone_article_is_counted_skipped_and_mirrored_when_back(faulty_crawls):
    tmp, (first, _, _), (rerun, rerun_requests) = faulty_crawls
    assert crawl_stats(first.stderr)["newsmirror/gone/404"] == 1
    assert "article gone (HTTP 404), skipped until it is back: " in first.stderr
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert [p for p in rerun_requests if p.endswith(".html")] == [A5]
    assert "1 articles mirrored (1 pages new or changed), 5 skipped as already mirrored" \
        in rerun.stderr
    # After the rerun the mirror is the fault-free one, list pages included.
    assert mirrored_files(tmp / "mirror") == mirrored_files(tmp / "clean")
    for page in (tmp / "mirror").glob("pages/**/*.md"):
        check_page(page, CRAWL_SETTINGS["MIRROR_BASE_URL"], tmp / "mirror")


# The real corpus behind the shared fault-injecting server

SHARED = Path(os.environ.get("NEWSMIRROR_SHARED", ROOT.parent / "shared"))
TOOLS = SHARED / "tools"


@pytest.mark.e2e
@pytest.mark.skipif(not (TOOLS / "serve_site.py").is_file(),
                    reason=f"no corpus tools at {TOOLS}: serve_site.py --faults not run")
def test_corpus_behind_faulty_server_is_mirrored_whole_within_one_rerun(tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, TOOLS / "sitegen.py", site], check=True,
                   capture_output=True)
    articles = {p.stem for p in site.glob("news/gb/*/*/*/*.html")}
    server = subprocess.Popen(
        [sys.executable, TOOLS / "serve_site.py", site, "--assets", "--faults", "0.2",
         "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("serving "), line
        base_url = line.split()[1]
        mirror = tmp_path / "mirror"
        # One request at a time: the server's faults then fall on the same
        # requests in every run.
        settings = dict(FAST_RETRIES, DOWNLOAD_TIMEOUT=2, CONCURRENT_REQUESTS=1,
                        CONCURRENT_REQUESTS_PER_DOMAIN=1)
        # The rerun also fetches the articles whose images failed.
        runs = [run_crawl(base_url, mirror, **settings),
                run_crawl(base_url, mirror, **settings)]
    finally:
        server.kill()
        server.wait()
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    assert crawl_stats(runs[0].stderr)["retry/count"] > 0
    assert {p.stem for p in mirror.glob("pages/**/*.md")} == articles
    # Every page whole: its body is the one a crawl without faults writes.
    with SiteServer(site) as clean_site:
        clean = run_crawl(clean_site.base_url, tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr[-3000:]
    for page in mirror.glob("pages/**/*.md"):
        text = check_page(page, CRAWL_SETTINGS["MIRROR_BASE_URL"], mirror)
        # Every image in the tree (the file's name is its URL's digest, and
        # the two servers' URLs differ in their ports).
        assert "/_hosts/" not in text, page
        images = IMAGE_LINK.findall(text)
        assert all((page.parent / i).resolve().is_file() for i in images), page
        twin = (tmp_path / "clean" / page.relative_to(mirror)).read_text("utf-8")
        body = IMAGE_LINK.sub("IMAGE", text.split("\n---\n")[1]).replace(base_url, "SITE")
        assert body == IMAGE_LINK.sub("IMAGE", twin.split("\n---\n")[1]).replace(
            clean_site.base_url, "SITE"), page
