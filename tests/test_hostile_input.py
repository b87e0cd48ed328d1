"""Hostile and broken input: a log line and a stats counter for each case,
never a crash, never a file outside MIRROR_DIR, nothing unsafe published.

Unit tests on the spider and the middlewares first, then one whole crawl
through the engine against a SiteServer that serves every case at once.
"""
import json
import logging
import re
from urllib.parse import urlsplit

import lxml.html
import pytest
from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from newsmirror.middlewares.offsite_redirect import OffsiteRedirectMiddleware
from newsmirror.sample.server import SiteServer, sample_site
from tests.conftest import BASE, CRAWL_SETTINGS, html_response, run_crawl
from tests.mirror_checks import check_page, crawl_stats, md, page_of

ARTICLE = "/news/gb/2024/06/01/{}.html"
PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="{charset}">{meta}
</head><body><h1>{title}</h1>{body}</body></html>"""
UNSAFE = ("<script", "<iframe", "onerror", "javascript:", "data:", "alert(")


def page(title="标题", body="<p>正文内容足够长，可以发布，读者能读到全文。</p>", meta="",
         charset="utf-8", div=True) -> str:
    if div:
        body = f'<div class="article_right">{body}</div>'
    return PAGE.format(title=title, body=body, meta=meta, charset=charset)


def rss(*links: str, titles=None) -> str:
    items = "".join(
        f"<item><title>{(titles or {}).get(link, 'T')}</title><link>{link}</link>"
        f"<pubDate>Sat, 01 Jun 2024 10:00:00 -0400</pubDate></item>"
        for link in links)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">'
            f"<channel><title>F</title>{items}</channel></rss>")


def stat(crawler, key):
    return crawler.stats.get_value(f"newsmirror/{key}")


def parse(spider, response, **kw):
    kw = {"channel": "p1", "feed_title": "", "feed_date": "", **kw}
    return spider.parse_article(response, **kw)


@pytest.fixture
def spider(crawler, mirror_dir):
    from newsmirror.mirror.catalog import Catalog
    crawler.spider.catalog = Catalog(mirror_dir)
    yield crawler.spider
    crawler.spider.catalog.close()


def parse_feed(spider, body: str | bytes, cls=XmlResponse):
    url = f"{BASE}/news/gb/p1.xml"
    body = body.encode() if isinstance(body, str) else body
    return list(spider.parse_feed(cls(url, body=body, request=Request(url)),
                                  channel="p1"))


# Article URLs in a feed


@pytest.mark.parametrize("link,reason", [
    ("/news/gb/2024/06/01/abc.html", "bad_url"),
    ("/news/gb/2024/06/01/12a.html", "bad_url"),
    ("/news/gb/2024/06/01/١٢٣.html", "bad_url"),  # Arabic-Indic digits
    ("/news/gb/2024/06/01/" + "9" * 5000 + ".html", "bad_url"),
    ("/news/gb/2024/06/01/../../../../../etc/passwd.html", "bad_url"),
    ("/news/gb/../../../../tmp/1100001.html", "bad_url"),
    ("/news/gb/%2e%2e/%2e%2e/1100001.html", "bad_url"),
    ("/news/gb/2024/06/01/%2e%2e%2f%2e%2e%2f1100001.html", "bad_url"),
    ("/news/gb/2024/06/01/1100001%00.html", "bad_url"),
    (f"{BASE}/news/gb/../../../../tmp/1100001.html", "bad_url"),
    (f"{BASE}/news/gb/2024/06/01/?/1100001.html", "bad_url"),
    ("https://evil.example/news/gb/2024/06/01/1100001.html", "offsite_link"),
    ("//evil.example/news/gb/2024/06/01/1100001.html", "offsite_link"),
    ("javascript:alert(1)", "offsite_link"),
])
def test_feed_link_that_is_no_article_is_logged_counted_skipped(
        spider, crawler, caplog, link, reason):
    good = f"{BASE}/news/gb/2024/06/01/1100001.html"
    with caplog.at_level(logging.WARNING):
        requests = parse_feed(spider, rss(link, good))
    assert [r.url for r in requests] == [good]
    assert stat(crawler, f"dropped/{reason}") == 1
    assert "skipped" in caplog.text


def test_feed_with_duplicate_items_fetches_the_article_once(spider, crawler, caplog):
    link = f"{BASE}/news/gb/2024/06/01/1100001.html"
    with caplog.at_level(logging.WARNING):
        requests = parse_feed(spider, rss(link, link, link))
    assert [r.url for r in requests] == [link]
    assert stat(crawler, "bad_feed/duplicate_item") == 2
    assert "feed lists an article twice" in caplog.text


@pytest.mark.parametrize("body,cls,reason,message", [
    ("<html><body><p>维护中&nbsp;</p></body></html>", XmlResponse, "not_rss", "not RSS"),
    ("this is not XML at all {", XmlResponse, "not_rss", "not RSS"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", Response, "not_rss", "not RSS"),
    ("", XmlResponse, "empty", "feed is empty"),
    ("  \n", XmlResponse, "empty", "feed is empty"),
    (rss(), XmlResponse, "empty", "no items"),
])
def test_broken_feed_is_logged_and_counted(spider, crawler, caplog, body, cls,
                                           reason, message):
    with caplog.at_level(logging.WARNING):
        assert parse_feed(spider, body, cls) == []
    assert stat(crawler, f"bad_feed/{reason}") == 1
    assert message in caplog.text
    assert stat(crawler, "bad_feed/repaired") is None  # not counted: no feed


@pytest.mark.parametrize("first_title, read_as, repairs", [
    ("a &#0; b", "a  b", 1),  # a reference to no XML character
    ("a &#55296; b \x01", "a  b", 2),  # a surrogate's reference; a raw control
    ("a&nbsp;b &hellip;", "a\xa0b …", 2),  # HTML's entities
    ("R&D &bogus; &#X41;", "R&D &bogus; &#X41;", 3),  # bare "&": as written
    ("<![CDATA[R&D &nbsp;]]>", "R&D &nbsp;", 0),  # CDATA is text as it stands
])
def test_feed_that_is_not_well_formed_is_repaired_not_garbled(
        spider, crawler, caplog, first_title, read_as, repairs):
    # libxml2's recover mode drops every entity after the first such error
    # ("c &amp; d" read as "c  d"), and a surrogate's reference raised.
    first, second = (f"{BASE}/news/gb/2024/06/01/110000{i}.html" for i in (1, 2))
    with caplog.at_level(logging.WARNING):
        requests = parse_feed(spider, rss(first, second, titles={
            first: first_title, second: "c &amp; d &lt;e&gt;"}))
    assert [r.cb_kwargs["feed_title"] for r in requests] == [read_as, "c & d <e>"]
    assert stat(crawler, "bad_feed/repaired") == (repairs or None)
    assert ("not well-formed XML" in caplog.text) == bool(repairs)


# Article pages


@pytest.mark.parametrize("html,reason", [
    (page(div=False), "no_body"),
    (page(title=""), "no_title"),
])
def test_page_without_article_is_dropped(spider, crawler, caplog, html, reason):
    url = BASE + ARTICLE.format(1)
    with caplog.at_level(logging.WARNING):
        assert parse(spider, html_response(url, html)) is None
    assert stat(crawler, f"dropped/{reason}") == 1
    assert f"article dropped ({reason}): {url}" in caplog.text


def test_page_that_is_not_html_is_dropped(spider, crawler):
    url = BASE + ARTICLE.format(1)
    response = Response(url, body=b"\x89PNG", request=Request(url))
    assert parse(spider, response) is None
    assert stat(crawler, "dropped/not_html") == 1


def test_page_cut_short_is_retried_then_dropped(spider, crawler, caplog):
    url = BASE + ARTICLE.format(1)
    html = page(body="<p>" + "正文" * 100 + "</p>")
    request = Request(url, callback=spider.parse_article, errback=spider.failed)
    cut = HtmlResponse(url, body=html[: len(html) // 2].encode(), request=request)
    retry = parse(spider, cut)
    assert isinstance(retry, Request) and retry.url == url
    assert retry.meta["retry_times"] == 1 and retry.dont_filter
    assert retry.callback == spider.parse_article and retry.errback == spider.failed
    assert crawler.stats.get_value("retry/reason_count/truncated") == 1
    retry.meta["retry_times"] = crawler.settings.getint("RETRY_TIMES")
    last = HtmlResponse(url, body=html[:100].encode(), request=retry)
    with caplog.at_level(logging.WARNING):
        assert parse(spider, last) is None
    assert stat(crawler, "dropped/truncated") == 1
    assert f"article dropped (truncated): {url}" in caplog.text
    assert parse(spider, html_response(url, html)).title == "标题"


def test_gbk_page_declared_only_in_meta_is_decoded(spider):
    url = BASE + ARTICLE.format(1)
    body = page(title="中国经济的真实数据", body="<p>北京报道：消费继续放缓。</p>",
                charset="gbk").encode("gbk")
    response = html_response(url, body, headers={"Content-Type": "text/html"})
    item = parse(spider, response)
    assert response.encoding == "gb18030"
    assert item.title == "中国经济的真实数据"
    assert "北京报道：消费继续放缓。" in item.body_html


def test_title_with_newlines_and_metacharacters_is_one_plain_line(spider):
    title = "第一行\n\t第二行 &lt;b&gt;*粗*&lt;/b&gt; _x_ [a](b) # | `c`"
    item = parse(spider, html_response(BASE + ARTICLE.format(1), page(title=title)))
    assert item.title == "第一行 第二行 <b>*粗*</b> _x_ [a](b) # | `c`"
    item = parse(spider, html_response(BASE + ARTICLE.format(1), page(title="")),
                 feed_title="来自\n订阅  源")
    assert item.title == "来自 订阅 源"


# Dates


@pytest.mark.parametrize("meta,path,expected,key,message", [
    ('<meta property="article:published_time" content="2024-13-45T99:00:00">',
     "/news/gb/2024/06/01/1.html", "2024-06-01T00:00:00-04:00", "invalid",
     "invalid meta date"),
    ('<meta property="article:published_time" content="2999-01-01T00:00:00+00:00">',
     "/news/gb/2024/06/01/1.html", "2024-06-01T00:00:00-04:00", "future",
     "meta date 2999-01-01T00:00:00+00:00 is in the future"),
    ("", "/news/gb/2024/02/31/1.html", "2024-06-01T10:00:00-04:00", "invalid",
     "invalid URL date"),
    ("", "/news/gb/3024/02/03/1.html", "2024-06-01T10:00:00-04:00", "future",
     "URL date 3024-02-03T00:00:00-05:00 is in the future"),
])
def test_invalid_or_future_date_is_logged_counted_and_replaced(
        spider, crawler, caplog, meta, path, expected, key, message):
    response = html_response(BASE + path, page(meta=meta))
    with caplog.at_level(logging.WARNING):
        item = parse(spider, response, feed_date="Sat, 01 Jun 2024 10:00:00 -0400")
    assert item.published == expected
    assert stat(crawler, f"bad_date/{key}") == 1
    assert message in caplog.text


def test_no_valid_date_anywhere_uses_the_crawl_time(spider, crawler, caplog):
    response = html_response(BASE + "/news/gb/1.html", page())
    with caplog.at_level(logging.WARNING):
        item = parse(spider, response, feed_date="not a date")
    assert item.published[:2] == "20"
    assert stat(crawler, "bad_date/invalid") == 1
    assert stat(crawler, "bad_date/none") == 1
    assert "no valid date, using the crawl time" in caplog.text


# Failed downloads, after Scrapy's retries


def failure(exc, url=BASE + ARTICLE.format(1), callback="parse_article",
            spider=None):
    f = Failure(exc)
    f.request = Request(url, callback=getattr(spider, callback))
    return f


@pytest.mark.parametrize("make,key,message", [
    (lambda r: HttpError(Response(r, status=404)), "gone/404", "article gone (HTTP 404)"),
    (lambda r: HttpError(Response(r, status=410)), "gone/410", "article gone (HTTP 410)"),
    (lambda r: HttpError(Response(r, status=503)), "failed/http_503",
     "article not fetched (http_503)"),
    (lambda r: IgnoreRequest("max redirections reached"), "failed/too_many_redirects",
     "article not fetched (too_many_redirects)"),
    (lambda r: IgnoreRequest("Forbidden by robots.txt"), "failed/robots_txt",
     "article not fetched (robots_txt)"),
    (lambda r: DownloadCancelledError("bigger than download max size"),
     "failed/too_large", "article not fetched (too_large)"),
    (lambda r: DownloadTimeoutError("took longer than 1 seconds"),
     "failed/DownloadTimeoutError", "article not fetched (DownloadTimeoutError)"),
])
def test_failed_download_is_logged_and_counted(spider, crawler, caplog, make,
                                                key, message):
    url = BASE + ARTICLE.format(1)
    with caplog.at_level(logging.WARNING):
        assert spider.failed(failure(make(url), url, spider=spider)) is None
    assert stat(crawler, key) == 1
    assert message in caplog.text and url in caplog.text


def test_failed_feed_is_not_taken_for_a_gone_article(spider, crawler, caplog):
    url = f"{BASE}/news/gb/p1.xml"
    f = failure(HttpError(Response(url, status=404)), url, "parse_feed", spider)
    with caplog.at_level(logging.WARNING):
        spider.failed(f)
    assert stat(crawler, "failed/http_404") == 1
    assert f"feed not fetched (http_404): {url}" in caplog.text


# Redirects off the site


@pytest.mark.parametrize("target,allowed", [
    ("https://www.secretchina.com/news/gb/2024/06/01/2.html", True),
    ("https://secretchina.com/news/gb/2024/06/01/2.html", True),
    ("https://img.secretchina.com/news/gb/2024/06/01/2.html", True),
    ("https://evil.example/news/gb/2024/06/01/2.html", False),
    ("https://secretchina.com.evil.example/x.html", False),
    ("https://notsecretchina.com/x.html", False),
])
def test_redirect_off_the_site_is_refused(crawler, caplog, target, allowed):
    mw = OffsiteRedirectMiddleware.from_crawler(crawler)
    source = BASE + ARTICLE.format(1)
    # dont_filter, as a retried request has: Scrapy's filter lets it pass.
    redirected = Request(target, meta={"redirect_urls": [source]}, dont_filter=True)
    if allowed:
        assert mw.request_scheduled(redirected, crawler.spider) is None
    else:
        with caplog.at_level(logging.WARNING), pytest.raises(
                IgnoreRequest, match="redirected off-site from"):
            mw.request_scheduled(redirected, crawler.spider)
        assert stat(crawler, "failed/offsite_redirect") == 1
        assert f"redirect off the site refused: {source} -> {target}" in caplog.text
    # Only redirects: the spider never asks for another host by itself.
    assert mw.request_scheduled(Request(target), crawler.spider) is None


def test_redirect_back_to_a_requested_page_is_a_loop(spider, crawler, caplog):
    url = BASE + ARTICLE.format(1)
    with caplog.at_level(logging.WARNING):
        spider.dropped(Request(url, meta={"redirect_urls": [url]}), spider)
        spider.dropped(Request(url), spider)  # a plain duplicate: no fault
    assert stat(crawler, "failed/redirect_loop") == 1
    assert f"redirect loop (back to a page already requested), not fetched: " \
           f"{url} -> {url}" in caplog.text


# One whole crawl through the engine against a site serving every case

UNSAFE_BODY = """
<p>安全的段落文字，足够长可以发布。</p>
<script>alert('script')</script>
<iframe src="javascript:alert('iframe')"></iframe>
<iframe src="data:text/html,<script>alert('data-iframe')</script>"></iframe>
<p><img src="x.jpg" onerror="alert('onerror')"> 图片说明</p>
<p><a href="javascript:alert('link')">点这里</a>
   <a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">数据</a>
   <a href=" JaVa&#x09;ScRiPt:alert('spaced')">大小写</a></p>
<p onclick="alert('onclick')" style="background:url(javascript:alert('css'))">
   另一段正文。</p>
<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="alert('data-img')"></p>
<svg onload="alert('svg')"><script>alert('svg-script')</script></svg>
<object data="javascript:alert('object')"></object>
<form action="javascript:alert('form')"><input onfocus="alert('input')"></form>
"""
# As text (entities): it must show as these characters, never as markup.
HOSTILE_TITLE = ("标题\n第二行 &lt;img src=x onerror=alert(1)&gt; *粗* _斜_ "
                 "[链接](http://evil.example) # | `c` &amp;amp;")
HOSTILE_TITLE_TEXT = ("标题 第二行 <img src=x onerror=alert(1)> *粗* _斜_ "
                      "[链接](http://evil.example) # | `c` &amp;")
GOOD = {2000001: HOSTILE_TITLE_TEXT, 2000002: "不安全的正文",
        2000003: "中国经济的真实数据", 2000012: "无效日期的文章",
        2000013: "未来日期的文章"}
MAXSIZE = 64 * 1024
EXPECTED = {  # stats key -> count, and the log line that says so
    "dropped/bad_url": (4, "not an article URL, skipped"),
    "dropped/offsite_link": (1, "feed links off-site, skipped: https://evil.example"),
    "bad_feed/duplicate_item": (1, "feed lists an article twice"),
    "bad_feed/not_rss": (1, "feed is not RSS, skipped"),
    "bad_feed/empty": (2, "feed is empty, skipped"),
    "failed/too_large": (1, "article not fetched (too_large)"),
    "failed/redirect_loop": (1, "redirect loop (back to a page already requested)"),
    "failed/too_many_redirects": (1, "article not fetched (too_many_redirects)"),
    "failed/offsite_redirect": (1, "redirect off the site refused"),
    "gone/404": (1, "article gone (HTTP 404)"),
    "gone/410": (1, "article gone (HTTP 410)"),
    "dropped/no_body": (1, "article dropped (no_body)"),
    "dropped/empty_body": (2, "no article text left after cleaning"),
    "dropped/truncated": (1, "article dropped (truncated)"),
    "bad_date/invalid": (1, "invalid meta date, not used"),
    "bad_date/future": (1, "meta date 2999-01-01T00:00:00+00:00 is in the future"),
    "pages_written": (len(GOOD), "mirror summary: 5 articles mirrored (5 pages new or changed)"),
}
BAD_TAGS = {"script", "iframe", "object", "embed", "svg", "form", "input",
            "style", "base", "meta", "link"}


def ok(body: str | bytes, ctype="text/html; charset=utf-8"):
    body = body.encode() if isinstance(body, str) else body
    return lambda path: (200, {"Content-Type": ctype}, body)


def status(code: int, headers=None):
    return lambda path: (code, {"Content-Type": "text/plain", **(headers or {})}, b"")


def hostile_routes(base: str, elsewhere: str) -> dict:
    a = ARTICLE.format
    full = page(body="<p>" + "很长的正文。" * 200 + "</p>")
    feed = [base + a(i) for i in [*GOOD, *range(2000004, 2000012), 2000014, 2000015]]
    feed += [base + a(2000001),  # listed twice
             base + a("abc"), base + "/news/gb/%2e%2e/%2e%2e/2000099.html",
             base + "/news/gb/2024/06/01/../../../../../../etc/2000098.html",
             base + a("9" * 3000), "https://evil.example" + a(2000097)]
    return {
        "/news/gb/p1.xml": ok(rss(*feed), "application/xml"),
        "/news/gb/p2.xml": ok("<html><body><p>维护中</p></body></html>", "text/html"),
        "/news/gb/p3.xml": ok("", "application/xml"),
        "/news/gb/p4.xml": ok(" \n", "application/xml"),
        a(2000001): ok(page(title=HOSTILE_TITLE)),
        a(2000002): ok(page(title="不安全的正文", body=UNSAFE_BODY)),
        a(2000003): ok(page(title="中国经济的真实数据", charset="gbk",
                            body="<p>北京报道：消费继续放缓，零售数据低于预期。</p>"
                            ).encode("gbk"), "text/html"),
        a(2000004): ok(page(body="<p>" + "大" * MAXSIZE + "</p>")),
        a(2000005): status(302, {"Location": base + a(2000005)}),
        a(2000015): status(302, {"Location": base + "/r/1"}),
        **{f"/r/{i}": status(302, {"Location": f"{base}/r/{i + 1}"}) for i in range(1, 9)},
        a(2000006): status(302, {"Location": elsewhere + a(2000006)}),
        a(2000007): status(404),
        a(2000008): status(410),
        a(2000009): ok(page(div=False)),
        a(2000010): ok(page(body="")),
        a(2000011): ok(page(body='<div id="div-gpt-ad-1"></div><ins class="adsbygoogle">'
                                 "</ins><script>ads()</script><p>本文短网址: x</p>")),
        a(2000012): ok(page(title="无效日期的文章", meta=(
            '<meta property="article:published_time" content="2024-02-30T10:00:00">'))),
        a(2000013): ok(page(title="未来日期的文章", meta=(
            '<meta property="article:published_time" content="2999-01-01T00:00:00Z">'))),
        # Cut short, with a Content-Length that agrees: only the page shows it.
        a(2000014): ok(full[: len(full) // 2]),
    }


def unsafe_parts(html: str) -> list[str]:
    """Elements, attributes and URLs that could run code in a reader."""
    found = []
    for el in lxml.html.fragment_fromstring(html, create_parent="div").iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in BAD_TAGS:
            found.append(f"<{el.tag}>")
        for name, value in el.attrib.items():
            scheme = urlsplit(re.sub(r"[\x00-\x20]", "", value)).scheme.lower()
            if name.startswith("on") or name == "style":
                found.append(f"{name}=")
            elif name in ("href", "src", "action", "data") and scheme not in (
                    "", "http", "https"):
                found.append(f"{name}={value}")
    return found


def text_of(html: str) -> str:
    return lxml.html.fragment_fromstring(html, create_parent="div").text_content()


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    with SiteServer(sample_site()) as elsewhere, SiteServer(sample_site()) as site:
        off_site = elsewhere.base_url.replace("127.0.0.1", "localhost")
        site.routes.update(hostile_routes(site.base_url, off_site))
        result = run_crawl(site.base_url, tmp / "mirror", "-a", "channels=p1,p2,p3,p4",
                           "-O", str(tmp / "items.json"),
                           DOWNLOAD_MAXSIZE=MAXSIZE, RETRY_BACKOFF_BASE=0.01)
        yield tmp, result, list(site.requests), list(elsewhere.requests)


def test_hostile_site_crawl_logs_and_counts_each_case(hostile_crawl):
    _, result, _, _ = hostile_crawl
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-5000:]
    stats = crawl_stats(result.stderr)
    assert {k: stats.get(f"newsmirror/{k}") for k in EXPECTED} == {
        k: n for k, (n, _) in EXPECTED.items()}
    missing = [line for _, line in EXPECTED.values() if line not in result.stderr]
    assert missing == []


def test_hostile_site_requests_stay_on_site_and_bounded(hostile_crawl):
    _, _, requests, elsewhere = hostile_crawl
    assert elsewhere == []  # not even its robots.txt
    assert requests.count(ARTICLE.format(2000005)) == 1  # the loop seen at once
    assert [p for p in requests if p.startswith("/r/")] == [
        f"/r/{i}" for i in range(1, 6)]  # REDIRECT_MAX_TIMES
    assert requests.count(ARTICLE.format(2000014)) == 1 + 3  # RETRY_TIMES
    assert requests.count(ARTICLE.format(2000007)) == 1  # 404 is not retried
    assert not [p for p in requests if "etc" in p or "%2e" in p.lower() or len(p) > 200]


def test_hostile_site_publishes_only_whole_safe_pages_inside_the_mirror(hostile_crawl):
    tmp, _, _, _ = hostile_crawl
    mirror = tmp / "mirror"
    # -O items.json replaces the default feed (mirror-items/ beside the mirror).
    assert sorted(p.name for p in tmp.iterdir()) == ["items.json", "mirror"]
    files = [p for p in mirror.glob("pages/**/*") if p.is_file()]
    assert sorted(p.name for p in files) == sorted(
        f"{i}.md{png}" for i in GOOD for png in ("", ".png"))
    assert all(p.relative_to(mirror).parts[:2] == ("pages", "secretchina") for p in files)
    assert not [p for p in mirror.rglob("*") if p.is_file() and (
        p.stat().st_size == 0 or p.name.endswith(".tmp"))]
    for article_id, title in GOOD.items():
        page_file = page_of(mirror, article_id)
        text = check_page(page_file, CRAWL_SETTINGS["MIRROR_BASE_URL"], mirror)
        heading = md.parseInline(text.split("\n")[0].removeprefix("# "))[0]
        assert "".join(t.content for t in heading.children if t.type == "text") == title
        assert unsafe_parts(md.render(text)) == [], page_file
    unsafe_page = page_of(mirror, "2000002").read_text("utf-8")
    assert "另一段正文" in unsafe_page and "alert" not in text_of(md.render(unsafe_page))
    assert "北京报道：消费继续放缓，零售数据低于预期。" in page_of(mirror, "2000003").read_text("utf-8")
    assert "2024-06-01" in page_of(mirror, "2000012").read_text("utf-8")


def test_hostile_site_feed_json_has_no_unsafe_html(hostile_crawl):
    tmp, _, _, _ = hostile_crawl
    feed = json.loads((tmp / "mirror/feed.json").read_text("utf-8"))
    assert sorted(item["title"] for item in feed["items"]) == sorted(GOOD.values())
    for item in feed["items"]:
        assert unsafe_parts(item["content_html"]) == [], item["title"]
        assert "alert" not in text_of(item["content_html"])
    items = json.loads((tmp / "items.json").read_text("utf-8"))
    assert sorted(int(i["id"]) for i in items) == sorted(GOOD)
