"""Both sources crawled into one mirror tree: one home page, feed, catalog
and tag pages for both, no path or id shared."""
import json
import sqlite3

import pytest

from tests.conftest import CRAWL_SETTINGS, SAMPLE_PAGES, run_crawl
from tests.mirror_checks import check_page

pytestmark = pytest.mark.e2e


def test_two_sources_share_one_tree(site_server, soundofhope_server, tmp_path):
    mirror = tmp_path / "mirror"
    for server, spider in ((site_server, "secretchina"), (soundofhope_server, "soundofhope")):
        result = run_crawl(server.base_url, mirror, spider=spider)
        assert result.returncode == 0, result.stderr[-3000:]
    pages = sorted(p.relative_to(mirror).as_posix() for p in mirror.glob("pages/**/*.md"))
    secretchina = sorted(p for paths in SAMPLE_PAGES.values() for p in paths.values())
    assert pages == sorted([*secretchina, "pages/soundofhope/2024-05/14/900001.md",
                            "pages/soundofhope/2024-05/15/900002.md",
                            "pages/soundofhope/2024-05/16/900003.md"])
    for page in mirror.glob("pages/**/*.md"):
        check_page(page, CRAWL_SETTINGS["MIRROR_BASE_URL"], mirror)

    home = (mirror / "README.md").read_text("utf-8")
    assert home.startswith("# 看中国 · 希望之声 镜像\n")
    assert home.index("### 看中国") < home.index("[中国](indexes/secretchina/p1.md)（2）") \
        < home.index("### 希望之声") < home.index("[港台新闻](indexes/soundofhope/55.md)（2）")
    assert all(f"]({p})" in home for p in pages)
    assert "900001.md)" in (mirror / "indexes/soundofhope/5.md").read_text("utf-8")
    assert "1100001.md)" in (mirror / "indexes/secretchina/p1.md").read_text("utf-8")

    feed = json.loads((mirror / "feed.json").read_text("utf-8"))
    assert feed["title"] == "看中国 · 希望之声 镜像"
    assert sorted(i["url"].split("/pages/")[1].split("/")[0] for i in feed["items"]) == \
        ["secretchina"] * 6 + ["soundofhope"] * 3

    db = sqlite3.connect(mirror / ".newsmirror/catalog.sqlite3")
    sites = db.execute("SELECT site, COUNT(*) FROM articles GROUP BY site").fetchall()
    db.close()
    assert sites == [("secretchina", 6), ("soundofhope", 3)]
