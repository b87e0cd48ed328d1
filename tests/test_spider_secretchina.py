"""The spider's parsing, on saved pages of the sample site."""
import asyncio

import pytest

from newsmirror.items import ArticleItem
from newsmirror.mirror.catalog import Catalog
from tests.conftest import BASE, html_response, sample_page

ARTICLE = "news/gb/2024/05/06/1100001.html"


def feed_requests(spider, relpath="news/gb/p1.xml"):
    asyncio.run(_open_catalog(spider))
    return list(spider.parse_feed(sample_page(relpath), channel="p1"))


async def _open_catalog(spider):
    async for _ in spider.start():
        pass


def parse(spider, response, **kw):
    kw = {"channel": "p1", "feed_title": "", "feed_date": "", **kw}
    return spider.parse_article(response, **kw)


def test_start_requests_every_channel_feed(crawler):
    async def collect():
        return [r async for r in crawler.spider.start()]
    requests = asyncio.run(collect())
    assert [r.url for r in requests] == [
        f"{BASE}/news/gb/p{i}.xml" for i in range(1, 10)]


def test_channels_argument_narrows_the_feeds(make_crawler):
    crawler = make_crawler()
    spider = type(crawler.spider).from_crawler(crawler, channels="p1,p9")

    async def collect():
        return [r async for r in spider.start()]
    assert [r.url for r in asyncio.run(collect())] == [
        f"{BASE}/news/gb/p1.xml", f"{BASE}/news/gb/p9.xml"]


def test_unknown_channel_is_refused(make_crawler):
    crawler = make_crawler()
    with pytest.raises(ValueError, match="bad spider argument channels=.*unknown: x9"):
        type(crawler.spider).from_crawler(crawler, channels="p1,x9")


def test_feed_yields_one_request_per_article(crawler):
    requests = feed_requests(crawler.spider)
    assert [r.url for r in requests] == [
        f"{BASE}/news/gb/2024/05/07/1100002.html",
        f"{BASE}/news/gb/2024/05/06/1100001.html"]
    assert requests[0].cb_kwargs["feed_title"].startswith("暴雨致多地停电")


class EngineStub:
    """Records what the spider hands to the engine outside a callback."""

    def __init__(self):
        self.crawled = []

    def crawl(self, request):
        self.crawled.append(request)


def test_article_requests_are_admitted_a_window_at_a_time(make_crawler):
    crawler = make_crawler(MIRROR_ARTICLE_WINDOW=1)
    crawler.engine = EngineStub()
    spider = crawler.spider
    first = feed_requests(spider)
    assert [r.url for r in first] == [f"{BASE}/news/gb/2024/05/07/1100002.html"]
    spider.article_left(first[0], spider)
    assert [r.url for r in crawler.engine.crawled] == [
        f"{BASE}/news/gb/2024/05/06/1100001.html"]
    spider.article_left(crawler.engine.crawled[0], spider)
    assert len(crawler.engine.crawled) == 1 and not spider.waiting
    spider.idle(spider)  # nothing waits: the spider may close


def test_idle_admits_what_waits(make_crawler):
    from scrapy.exceptions import DontCloseSpider
    crawler = make_crawler(MIRROR_ARTICLE_WINDOW=1)
    crawler.engine = EngineStub()
    spider = crawler.spider
    feed_requests(spider)  # one admitted, then lost (e.g. filtered)
    with pytest.raises(DontCloseSpider):
        spider.idle(spider)
    assert [r.url for r in crawler.engine.crawled] == [
        f"{BASE}/news/gb/2024/05/06/1100001.html"]


def test_feed_skips_articles_already_mirrored(crawler, mirror_dir):
    catalog = Catalog(mirror_dir)
    catalog.add({"site": "secretchina", "id": "1100002", "channel": "p1", "title": "t",
                 "published": "2024-05-07T20:40:00-04:00", "url": "u",
                 "page_path": "pages/secretchina/2024-05/07/1100002.md", "public_url": "p",
                 "tags": [], "language": "zh-CN", "content_html": "<p>x</p>"})
    catalog.close()
    requests = feed_requests(crawler.spider)
    assert [r.url for r in requests] == [f"{BASE}/news/gb/2024/05/06/1100001.html"]
    assert crawler.stats.get_value("newsmirror/skipped/already_mirrored") == 1
    assert crawler.stats.get_value("newsmirror/articles/requested") == 1


def test_article_fields(crawler):
    item = parse(crawler.spider, sample_page(ARTICLE))
    assert isinstance(item, ArticleItem)
    assert item.id == "1100001"
    assert item.url == f"{BASE}/{ARTICLE}"
    assert item.channel == "p1"
    assert item.title == "山区小学新建图书馆 村民自发捐书(图)"
    assert item.published == "2024-05-06T09:15:00-04:00"
    assert item.source == "看中国"
    assert item.language == "zh-CN"
    assert item.lead_image == "https://img3.secretchina.com/pic/2024/5-6/p100001-ss.jpg"
    assert item.tags == ["图书馆,捐书,看中国"]
    assert 'class="article_right"' in item.body_html
    assert "图书馆只有四十平方米" in item.body_html


def test_source_of_a_column(crawler):
    item = parse(crawler.spider, sample_page("news/gb/2024/05/09/1100004.html"))
    assert item.source == "看中国专栏"


PAGE = """<html lang="zh-CN"><head>{meta}</head><body>{h1}
<div class="article_right"><p>{text}</p></div></body></html>"""


@pytest.mark.parametrize("meta,text,url,feed_date,expected", [
    ('<meta property="article:published_time" content="2024-01-02T03:04:05+08:00">',
     "x", "/news/gb/2024/01/01/1.html", "", "2024-01-02T03:04:05+08:00"),
    ("", "【看中国2023年7月8日讯】正文", "/news/gb/2024/01/01/1.html", "",
     "2023-07-08T00:00:00-04:00"),
    ("", "正文", "/news/gb/2022/12/25/1.html", "", "2022-12-25T00:00:00-05:00"),
    ("", "正文", "/news/gb/1.html", "Tue, 07 May 2024 20:40:00 -0400",
     "2024-05-07T20:40:00-04:00"),
    ('<meta property="article:published_time" content="2999-01-01T00:00:00+00:00">',
     "正文", "/news/gb/2022/12/25/1.html", "", "2022-12-25T00:00:00-05:00"),
    ('<meta property="article:published_time" content="not a date">',
     "正文", "/news/gb/2022/12/25/1.html", "", "2022-12-25T00:00:00-05:00"),
])
def test_published_date_fallbacks(crawler, meta, text, url, feed_date, expected):
    response = html_response(BASE + url, PAGE.format(meta=meta, h1="<h1>标题</h1>",
                                                     text=text))
    item = parse(crawler.spider, response, feed_date=feed_date)
    assert item.published == expected


def test_title_falls_back_to_og_title_then_feed(crawler):
    og = '<meta property="og:title" content="OG 标题">'
    r = html_response(BASE + "/news/gb/2024/01/01/1.html",
                      PAGE.format(meta=og, h1="", text="x"))
    assert parse(crawler.spider, r).title == "OG 标题"
    r = html_response(BASE + "/news/gb/2024/01/01/1.html",
                      PAGE.format(meta="", h1="", text="x"))
    assert parse(crawler.spider, r, feed_title="Feed 标题").title == "Feed 标题"


@pytest.mark.parametrize("html,reason", [
    (PAGE.format(meta="", h1="", text="x"), "no_title"),
    ("<html><body><h1>标题</h1><div class='content'>x</div></body></html>", "no_body"),
])
def test_page_without_title_or_body_is_dropped(crawler, html, reason):
    r = html_response(BASE + "/news/gb/2024/01/01/7.html", html)
    assert parse(crawler.spider, r) is None
    assert crawler.stats.get_value(f"newsmirror/dropped/{reason}") == 1
