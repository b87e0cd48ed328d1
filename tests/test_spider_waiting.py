"""Links waiting for the article window: what they keep, and what they cost."""
import asyncio
import gc
import tracemalloc
from xml.sax.saxutils import escape

from scrapy.http import Request, XmlResponse

from tests.conftest import BASE
from tests.test_spider_secretchina import EngineStub, _open_catalog

FEED_URL = f"{BASE}/news/gb/p3.xml"


def feed(items: list[tuple[str, str, str]]) -> XmlResponse:
    """An RSS feed of (title, link, pubDate) items, as written (not escaped)."""
    body = "".join(f"<item><title>{title}</title><link>{link}</link>"
                   f"<pubDate>{date}</pubDate></item>" for title, link, date in items)
    return XmlResponse(FEED_URL, request=Request(FEED_URL), body=(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"{body}</channel></rss>").encode())


def test_a_waiting_link_keeps_its_channel_feed_title_and_date(make_crawler):
    crawler = make_crawler(MIRROR_ARTICLE_WINDOW=1)
    crawler.engine = EngineStub()
    spider = crawler.spider
    asyncio.run(_open_catalog(spider))
    first = list(spider.parse_feed(feed([
        ("one", f"{BASE}/news/gb/2024/05/07/21.html", "Tue, 07 May 2024 20:40:00 -0400"),
        (escape("a & b <c>"), f"{BASE}/news/gb/2024/05/05/22.html", ""),
        # Whitespace inside kept, around stripped; a NUL reference dropped
        # by the parser (the fields are joined by NUL while they wait);
        # characters outside the BMP; a relative link.
        ("  山区\t小学 &#0;«图» 📷\n 新建  ", "/news/gb/2024/05/06/23.html",
         " Mon, 06 May 2024 09:15:00 -0400 "),
    ]), channel="p3"))
    assert [r.url for r in first] == [f"{BASE}/news/gb/2024/05/07/21.html"]
    spider.article_left(first[0], spider)
    spider.article_left(crawler.engine.crawled[0], spider)
    assert [(r.url, r.cb_kwargs) for r in crawler.engine.crawled] == [
        (f"{BASE}/news/gb/2024/05/05/22.html",
         {"channel": "p3", "feed_title": "a & b <c>", "feed_date": ""}),
        (f"{BASE}/news/gb/2024/05/06/23.html",
         {"channel": "p3", "feed_title": "山区\t小学 «图» 📷\n 新建",
          "feed_date": "Mon, 06 May 2024 09:15:00 -0400"}),
    ]
    assert not spider.waiting


def test_the_links_of_a_large_feed_wait_in_little_memory(make_crawler):
    """20000 links wait for the window in about 220 bytes each (a
    60-character link, a 7-character title, an RFC 822 date, and the id
    kept to skip the article in other feeds); as a tuple of four str
    objects, with the ids in a set, they took 490."""
    n = 20000
    crawler = make_crawler(MIRROR_ARTICLE_WINDOW=1)
    spider = crawler.spider
    response = feed([(str(3_000_000 + i),
                      f"{BASE}/news/gb/2024/05/06/{3_000_000 + i}.html",
                      "Mon, 06 May 2024 09:15:00 -0400") for i in range(n)])
    asyncio.run(_open_catalog(spider))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        requests = list(spider.parse_feed(response, channel="p3"))
        del requests, response  # and the text decoded from it
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(spider.waiting) == n - 1 and len(spider.requested) == n
    assert retained / n < 300
