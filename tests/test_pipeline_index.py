"""Index: catalog, channel indexes, tag pages, home page and feed.json."""
import json
import tracemalloc

import pytest

from newsmirror.items import ArticleItem
from newsmirror.mirror import render
from newsmirror.mirror.catalog import Catalog
from newsmirror.mirror.files import write_atomic
from newsmirror.mirror.layout import tag_page_path
from newsmirror.pipelines.index import IndexPipeline
from tests.gfm_checks import problems


def article(n, channel="p1", tags=("暴雨",), day=1):
    return ArticleItem(
        id=str(n), url=f"https://www.secretchina.com/news/gb/2024/05/0{day}/{n}.html",
        channel=channel, title=f"文章 {n}", published=f"2024-05-0{day}T08:00:00-04:00",
        body_html=f"<p>正文 {n}</p>", tags=list(tags), language="zh-CN",
        site="secretchina", page_path=f"pages/secretchina/2024-05/0{day}/{n}.md",
        qr_path=f"pages/secretchina/2024-05/0{day}/{n}.md.png",
        public_url=f"https://example.org/m/pages/secretchina/2024-05/0{day}/{n}.md")


def run(crawler, *items):
    pipeline = IndexPipeline.from_crawler(crawler)
    pipeline.open_spider()
    for it in items:
        pipeline.process_item(it)
    pipeline.close_spider()


def test_lists_are_written_newest_first(crawler, mirror_dir):
    run(crawler, article(1, day=1), article(2, day=3), article(3, "p2", day=2))
    index = (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")
    assert index.index("文章 2") < index.index("文章 1")
    assert "文章 3" not in index
    assert "](../../pages/secretchina/2024-05/03/2.md)" in index
    home = (mirror_dir / "README.md").read_text("utf-8")
    assert [home.index(f"文章 {n}") for n in (2, 3, 1)] == sorted(
        home.index(f"文章 {n}") for n in (2, 3, 1))
    assert "[中国](indexes/secretchina/p1.md)（2）" in home
    tag = (mirror_dir / tag_page_path("暴雨")).read_text("utf-8")
    assert tag.count("- 2024-05-0") == 3
    feed = json.loads((mirror_dir / "feed.json").read_text("utf-8"))
    assert [i["title"] for i in feed["items"]] == ["文章 2", "文章 3", "文章 1"]


def test_index_is_capped(make_crawler, mirror_dir):
    crawler = make_crawler(MIRROR_INDEX_SIZE=2)
    run(crawler, *(article(n, day=n) for n in range(1, 5)))
    index = (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")
    assert index.count("- 2024") == 2 and "文章 4" in index and "文章 1" not in index


def test_lists_are_current_across_runs_without_duplicates(make_crawler, mirror_dir):
    run(make_crawler(), article(1), article(2))
    run(make_crawler(), article(2), article(3))
    index = (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")
    assert [index.count(f"文章 {n}]") for n in (1, 2, 3)] == [1, 1, 1]


def test_a_run_killed_before_rebuilding_is_finished_by_the_next(make_crawler, mirror_dir):
    catalog = Catalog(mirror_dir)
    it = article(9)
    catalog.add({k: getattr(it, k) for k in (
        "site", "id", "channel", "title", "published", "url", "page_path", "public_url",
        "tags", "language")} | {"content_html": it.body_html})
    catalog.close()
    assert not (mirror_dir / "indexes/secretchina/p1.md").exists()
    run(make_crawler())
    assert "文章 9" in (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")


def test_batches_update_bounded_lists_and_tag_pages_at_close(make_crawler, mirror_dir):
    pipeline = IndexPipeline.from_crawler(
        make_crawler(MIRROR_INDEX_EVERY=2, MIRROR_CATALOG_BATCH=2))
    pipeline.open_spider()
    pipeline.process_item(article(1))
    assert "1" not in Catalog(mirror_dir).mirrored("secretchina", ["1"])  # recorded with its batch
    pipeline.process_item(article(2))
    assert "2" in Catalog(mirror_dir).mirrored("secretchina", ["2"])
    assert "文章 2" in (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")
    assert "文章 2" in (mirror_dir / "README.md").read_text("utf-8")
    assert not (mirror_dir / tag_page_path("暴雨")).exists()
    pipeline.process_item(article(3))
    pipeline.close_spider()
    tag = (mirror_dir / tag_page_path("暴雨")).read_text("utf-8")
    assert [f"文章 {n}]" in tag for n in (1, 2, 3)] == [True, True, True]
    assert "文章 3" in (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")


def test_a_batch_of_one_records_each_article_before_it_goes_on(make_crawler, mirror_dir):
    pipeline = IndexPipeline.from_crawler(
        make_crawler(MIRROR_INDEX_EVERY=2, MIRROR_CATALOG_BATCH=1))
    pipeline.open_spider()
    pipeline.process_item(article(1))
    assert "1" in Catalog(mirror_dir).mirrored("secretchina", ["1"])
    index = mirror_dir / "indexes/secretchina/p1.md"
    assert "文章 1" not in index.read_text("utf-8")  # lists every 2
    pipeline.process_item(article(2))
    assert "文章 1" in (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")
    pipeline.close_spider()


def test_lists_order_by_instant_whatever_the_utc_offset(crawler, mirror_dir):
    # 01:10-05:00 is 06:10 UTC, after 01:30-04:00 (05:30 UTC): the clocks
    # went back an hour in between.
    earlier, later = article(1), article(2)
    earlier.published = "2024-11-03T01:30:00-04:00"
    later.published = "2024-11-03T01:10:00-05:00"
    run(crawler, earlier, later)
    index = (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")
    assert index.index("文章 2") < index.index("文章 1")


def test_every_channel_has_an_index_and_the_home_page_whatever_was_crawled(
        make_crawler, mirror_dir):
    run(make_crawler(), article(1, "p1"))
    channels = make_crawler().spider.site.channels
    for ch in channels:
        index = (mirror_dir / f"indexes/secretchina/{ch}.md").read_text("utf-8")
        assert ("文章 1" in index) == (ch == "p1")
        assert ("（暂无文章）" in index) == (ch != "p1")
    before = {p: p.stat().st_mtime_ns for p in mirror_dir.rglob("*.md")}
    run(make_crawler())
    assert {p: p.stat().st_mtime_ns for p in mirror_dir.rglob("*.md")} == before


def test_a_run_with_no_article_writes_the_home_page_and_empty_indexes(crawler, mirror_dir):
    run(crawler)
    home = (mirror_dir / "README.md").read_text("utf-8")
    assert "[中国](indexes/secretchina/p1.md)（0）" in home and "（暂无文章）" in home
    assert problems(mirror_dir) == []


def test_keep_per_channel_removes_older_pages_from_the_tree_and_the_lists(
        make_crawler, mirror_dir):
    items = [article(n, day=n) for n in range(1, 5)] + [article(9, "p2", day=1)]
    # Article 1's own image goes with it; one it shares with article 9 stays.
    items[0].images = [{"src": "a", "path": "images/aa/own.jpg"},
                       {"src": "b", "path": "images/bb/shared.jpg"}]
    items[4].images = [{"src": "b", "path": "images/bb/shared.jpg"}]
    for it in items:
        for relpath in (it.page_path, it.qr_path, *(i["path"] for i in it.images)):
            (mirror_dir / relpath).parent.mkdir(parents=True, exist_ok=True)
            (mirror_dir / relpath).write_text("page")
    crawler = make_crawler(MIRROR_KEEP_PER_CHANNEL=2)
    run(crawler, *items)
    assert sorted(p.name for p in mirror_dir.glob("pages/**/*.md*")) == [
        "3.md", "3.md.png", "4.md", "4.md.png", "9.md", "9.md.png"]
    index = (mirror_dir / "indexes/secretchina/p1.md").read_text("utf-8")
    assert "文章 4" in index and "文章 3" in index and "文章 2" not in index
    for path in ("README.md", tag_page_path("暴雨"), "feed.json"):
        text = (mirror_dir / path).read_text("utf-8")
        assert "文章 1" not in text and "文章 2" not in text and "文章 9" in text
    assert crawler.stats.get_value("newsmirror/retired") == 2
    assert [p.name for p in mirror_dir.glob("images/*/*")] == ["shared.jpg"]
    catalog = Catalog(mirror_dir)
    assert "1" in catalog.mirrored("secretchina", ["1"])  # known: not fetched again
    run(make_crawler(MIRROR_KEEP_PER_CHANNEL=2), article(5, day=5))
    assert not (mirror_dir / "pages/secretchina/2024-05/03/3.md").exists()


@pytest.mark.parametrize("rows", [[], [
    {"published": "2024-05-06T09:15:00-04:00", "title": " 标题\n *星号*  [方括号] ",
     "page_path": "pages/secretchina/2024-05/06/1.md"},
    {"published": "2024-05-05T09:15:00-04:00", "title": "1. 不是列表 ",
     "page_path": "pages/secretchina/2024-05/05/2 (b).md"}]])
def test_a_list_page_is_tidy_as_a_whole(rows):
    # Only its head goes through tidy(): the rows' lines must need none.
    menu = (("首页", "README.md"), ("空", ""))
    page = "".join(render.list_page("标签：x", "tags/ab/x.md", iter(rows), menu))
    assert page == render.tidy("\n\n".join([
        "# 标签：x", render.menu_line(menu, "tags/ab"),
        render.article_list(rows, "tags/ab") or "（暂无文章）"]))
    assert page.count("\n- ") == len(rows)


def test_a_tag_page_of_the_whole_mirror_is_written_without_holding_it(tmp_path):
    # A site's own name among its keywords tags every article: 20 000
    # lines, 1.9 MB of Markdown, took 10 MB of memory built whole.
    rows = ({"published": "2024-05-06T09:15:00-04:00", "title": f"看中国文章标题第{i}篇",
             "page_path": f"pages/secretchina/2024-05/06/{i}.md"} for i in range(20000))
    path = tag_page_path("看中国")
    render.list_line.cache_clear()
    tracemalloc.start()
    try:
        assert write_atomic(tmp_path / path, render.list_page(
            "标签：看中国", path, rows, (("首页", "README.md"),)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    text = (tmp_path / path).read_text("utf-8")
    assert text.count("\n- ") == 20000 and len(text.encode()) > 1_500_000
    # Built whole: 9 MB. Most of what is left is list_line's cache (4096).
    assert peak < 4_000_000
