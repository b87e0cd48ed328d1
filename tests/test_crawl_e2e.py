"""A whole crawl through the Scrapy engine against the sample site on loopback."""
import json
import shutil

import pytest

from tests.conftest import CRAWL_SETTINGS, SAMPLE_PAGES, run_crawl
from tests.gfm_checks import problems
from tests.mirror_checks import check_page, snapshot

pytestmark = pytest.mark.e2e
BASE_URL = CRAWL_SETTINGS["MIRROR_BASE_URL"]
ALL_PAGES = sorted(p for pages in SAMPLE_PAGES.values() for p in pages.values())


@pytest.fixture
def first_crawl(site_server, tmp_path):
    mirror = tmp_path / "mirror"
    result = run_crawl(site_server.base_url, mirror, "-O", str(tmp_path / "items.json"))
    assert result.returncode == 0, result.stderr[-3000:]
    # -O replaces the default feed beside the mirror (README).
    assert not (tmp_path / "mirror-items").exists()
    return mirror, result, tmp_path / "items.json"


def test_crawl_writes_a_complete_mirror(first_crawl):
    mirror, result, _ = first_crawl
    pages = sorted(p.relative_to(mirror).as_posix() for p in mirror.glob("pages/**/*.md"))
    assert pages == ALL_PAGES
    for page in mirror.glob("pages/**/*.md"):
        check_page(page, BASE_URL, mirror)
    for ch, paths in SAMPLE_PAGES.items():
        index = (mirror / f"indexes/secretchina/{ch}.md").read_text("utf-8")
        assert [index.count(f"](../../{p})") for p in paths.values()] == [1] * len(paths)
    home = (mirror / "README.md").read_text("utf-8")
    assert all(f"]({p})" in home for p in ALL_PAGES)
    assert ("mirror summary: 6 articles mirrored (6 pages new or changed), 0 skipped as "
            "already mirrored") in result.stderr
    assert problems(mirror) == []


def test_some_channels_and_no_base_url_leave_no_dead_link(site_server, tmp_path):
    mirror = tmp_path / "mirror"
    result = run_crawl(site_server.base_url, mirror, "-a", "channels=p1,p9",
                       MIRROR_BASE_URL="")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(mirror.glob("pages/**/*.md"))) == 3
    assert list(mirror.rglob("*.png")) == []  # no public URL to share
    assert problems(mirror) == []
    assert "（暂无文章）" in (mirror / "indexes/secretchina/p2.md").read_text("utf-8")


def test_items_feed_is_utf8_json_with_every_field(first_crawl):
    _, _, items_path = first_crawl
    raw = items_path.read_text("utf-8")
    assert "山区小学" in raw and "\\u" not in raw
    items = json.loads(raw)
    assert len(items) == 6
    fields = {"id", "site", "url", "channel", "title", "published", "source", "lead_image",
              "images", "body_html", "tags", "language", "body_markdown",
              "public_url", "page_path", "qr_path", "images_missing"}
    assert all(set(item) == fields for item in items)


def test_second_crawl_downloads_no_article_and_changes_no_file(first_crawl, site_server):
    mirror, _, _ = first_crawl
    before = snapshot(mirror)
    site_server.requests.clear()
    result = run_crawl(site_server.base_url, mirror)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p for p in site_server.requests if p.endswith(".html")] == []
    assert sorted(p for p in site_server.requests if p.endswith(".xml")) == [
        f"/news/gb/p{i}.xml" for i in range(1, 10)]
    assert snapshot(mirror) == before
    assert "0 articles mirrored (0 pages new or changed), 6 skipped as already mirrored" \
        in result.stderr


def test_a_window_of_one_article_request_still_mirrors_every_article(site_server, tmp_path):
    mirror = tmp_path / "mirror"
    result = run_crawl(site_server.base_url, mirror, MIRROR_ARTICLE_WINDOW="1")
    assert result.returncode == 0, result.stderr[-3000:]
    pages = sorted(p.relative_to(mirror).as_posix() for p in mirror.glob("pages/**/*.md"))
    assert pages == ALL_PAGES
    assert sorted(p for p in site_server.requests if p.endswith(".html")) == sorted(
        set(p for p in site_server.requests if p.endswith(".html")))


def test_summary_counts_what_was_mirrored_after_the_catalog_is_deleted(first_crawl, site_server):
    # README, Troubleshooting: delete MIRROR_DIR/.newsmirror/ to fetch everything again.
    mirror, _, _ = first_crawl
    shutil.rmtree(mirror / ".newsmirror")
    result = run_crawl(site_server.base_url, mirror)
    assert result.returncode == 0, result.stderr[-3000:]
    # Fetched and recorded again; the pages on disk were already these bytes.
    assert "mirror summary: 6 articles mirrored (0 pages new or changed), 0 skipped" \
        in result.stderr
