"""Fixtures: crawlers for unit tests, a loopback site, whole crawls."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, XmlResponse
from scrapy.utils.test import get_crawler

from newsmirror import settings as project_settings
from newsmirror.sample.server import SiteServer, sample_site
from newsmirror.spiders.secretchina import SecretChinaSpider

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = Path(str(sample_site()))
BASE = "https://www.secretchina.com"
# The bundled sample's articles: channel -> {id: page path}.
SAMPLE_PAGES = {
    "p1": {"1100001": "pages/secretchina/2024-05/06/1100001.md",
           "1100002": "pages/secretchina/2024-05/07/1100002.md"},
    "p2": {"1100003": "pages/secretchina/2024-05/08/1100003.md"},
    "p4": {"1100004": "pages/secretchina/2024-05/09/1100004.md"},
    "p5": {"1100005": "pages/secretchina/2024-05/10/1100005.md"},
    "p9": {"1100006": "pages/secretchina/2024-05/11/1100006.md"},
}


def project_settings_dict(**overrides) -> dict:
    values = {k: getattr(project_settings, k) for k in dir(project_settings)
              if k.isupper()}
    values.update(overrides)
    return values


@pytest.fixture
def mirror_dir(tmp_path) -> Path:
    return tmp_path / "mirror"


@pytest.fixture
def make_crawler(mirror_dir):
    """A crawler with the project's settings and a spider (secretchina's)."""
    def make(spider_cls=SecretChinaSpider, **settings):
        crawler = get_crawler(spider_cls, project_settings_dict(
            MIRROR_DIR=str(mirror_dir), **settings))
        crawler.spider = crawler._create_spider()
        return crawler
    return make


def run_closing(workers, calls):
    """Await calls(), then close the worker pool, in one event loop (the
    pool belongs to the loop it first runs on)."""
    async def run():
        try:
            return await calls()
        finally:
            workers.close()
    return asyncio.run(run())


@pytest.fixture
def crawler(make_crawler):
    return make_crawler()


def sample_page(relpath: str, url: str | None = None) -> HtmlResponse:
    """A page of the bundled sample site as the spider receives it."""
    url = url or f"{BASE}/{relpath}"
    body = (SAMPLE / relpath).read_bytes()
    cls = XmlResponse if relpath.endswith(".xml") else HtmlResponse
    return cls(url=url, body=body, request=Request(url))


def html_response(url: str, html: str | bytes, **kwargs) -> HtmlResponse:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return HtmlResponse(url=url, body=body, request=Request(url), **kwargs)


@pytest.fixture
def site_server():
    with SiteServer(sample_site()) as server:
        yield server


@pytest.fixture
def soundofhope_server():
    """The bundled soundofhope sample (newsmirror/sample/soundofhope)."""
    with SiteServer(sample_site("soundofhope")) as server:
        yield server


def free_port() -> int:
    """A port nothing listens on now, for a server the test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Fast, deterministic settings for crawls against a loopback server.
CRAWL_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "LOG_LEVEL": "INFO",
    "MIRROR_BASE_URL": "https://example.org/mirror/blob/main",
}


def crawl_command(base_url: str, mirror: Path, *args: str, spider: str = "secretchina",
                  **settings) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of `scrapy crawl <spider>`."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider]
    for name, value in {**CRAWL_SETTINGS, f"{spider.upper()}_BASE_URL": base_url,
                        "MIRROR_DIR": str(mirror), **settings}.items():
        cmd += ["-s", f"{name}={value}"]
    cmd += list(args)
    return cmd, dict(os.environ, PYTHONPATH=str(ROOT))


def run_crawl(base_url: str, mirror: Path, *args: str, timeout: int = 180,
              spider: str = "secretchina", **settings) -> subprocess.CompletedProcess:
    """`scrapy crawl <spider>` in a subprocess, as a user runs it."""
    cmd, env = crawl_command(base_url, mirror, *args, spider=spider, **settings)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
