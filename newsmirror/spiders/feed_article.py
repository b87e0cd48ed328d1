"""The base of every source's spider: channel RSS feeds -> article pages -> items.

Everything a feed-driven news site shares lives here (feeds, the window of
article requests, skipping mirrored ids, failures, stats, dates); a source
is a subclass naming its SiteProfile (newsmirror/sites/<source>.py).
"""
from __future__ import annotations

import html.entities
import re
from collections import Counter, deque
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

import scrapy
from parsel import Selector
from scrapy import signals
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import DontCloseSpider, DownloadCancelledError, IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from newsmirror.checks import argument_problems
from newsmirror.items import ArticleItem
from newsmirror.mirror.catalog import Catalog
from newsmirror.sites import SiteProfile

URL_DATE = re.compile(r"/(\d{4})/(\d{1,2})/(\d{1,2})/")
# Article ids: ASCII digits (isdigit() takes any script's), of sane length.
ARTICLE_ID = re.compile(r"[0-9]{1,20}")
# A page cut short without the server saying so (no Content-Length).
COMPLETE_HTML = re.compile(rb"</html\s*>", re.I)
# Scrapy's IgnoreRequest messages -> our stats reasons.
IGNORED = {"max redirections reached": "too_many_redirects",
           "Forbidden by robots.txt": "robots_txt"}
# Dates further ahead than this are taken as wrong, not as scheduled.
FUTURE_SLACK = timedelta(days=1)
# Joins the fields of a waiting link: XML text cannot hold U+0000.
WAITING_SEPARATOR = "\0"
# What a feed may hold that XML does not allow: characters outside XML
# 1.0's set, a bare "&", HTML's named entities (&nbsp;), references to no
# character. After the first, libxml2's recover mode drops every later
# entity of the feed ("c &amp; d" read as "c  d", GNOME/libxml2#270), and
# the text of a surrogate's reference cannot be read at all.
NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# CDATA sections are text as they stand; every "&" elsewhere, with the
# reference it may start.
AMPERSAND = re.compile(
    r"<!\[CDATA\[.*?\]\]>|&(#x[0-9a-fA-F]{1,8};|#[0-9]{1,8};|[A-Za-z][A-Za-z0-9]{0,31};)?", re.S)
XML_ENTITIES = {"amp;", "lt;", "gt;", "quot;", "apos;"}


def well_formed_text(text: str) -> tuple[str, int]:
    """The feed's text with what XML does not allow made right (see
    NOT_XML_CHAR), and how many places that took."""
    repairs = 0

    def repair(m: re.Match) -> str:
        nonlocal repairs
        ref = m[1]
        if m[0].startswith("<") or ref in XML_ENTITIES:
            return m[0]
        if ref and ref.startswith("#"):
            code = int(ref[2:-1], 16) if ref[1] == "x" else int(ref[1:-1])
            if code <= 0x10FFFF and not NOT_XML_CHAR.match(chr(code)):
                return m[0]
            fixed = ""  # names no character
        elif ref and ref in html.entities.html5:
            fixed = xml_escape(html.entities.html5[ref])
        else:
            fixed = "&amp;" + (ref or "")  # a bare "&", or an unknown name: as written
        repairs += 1
        return fixed

    text, removed = NOT_XML_CHAR.subn("", text)
    return AMPERSAND.sub(repair, text), removed + repairs


def waiting_entry(channel: str, link: str, feed_title: str, feed_date: str) -> bytes:
    """A link waiting for the window, as one UTF-8 string: a large
    mirror's feeds leave tens of thousands waiting at once, and four str
    objects and a tuple take about twice the memory."""
    return WAITING_SEPARATOR.join((channel, link, feed_title, feed_date)).encode()


class FeedArticleSpider(scrapy.Spider):
    site: SiteProfile  # set by each source's subclass

    def __init__(self, *args, channels: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.channels = [c.strip() for c in channels.split(",") if c.strip()]

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        # <NAME>_BASE_URL, e.g. SECRETCHINA_BASE_URL; tests point it at 127.0.0.1.
        spider.base_url = (settings.get(f"{cls.name.upper()}_BASE_URL")
                           or cls.site.base_url).rstrip("/")
        # The site and its subdomains; redirects elsewhere are refused.
        base = urlsplit(spider.base_url)
        spider.allowed_domains = [(base.hostname or "").removeprefix("www.")]
        spider.host = base.netloc
        spider.origin = f"{base.scheme}://{base.netloc}/"
        spider.mirror_dir = Path(settings.get("MIRROR_DIR"))
        # `scrapy crawl` checked them already (newsmirror.checks); this is
        # for crawls started from code.
        problems = argument_problems(cls, kwargs)
        if problems:
            raise ValueError("; ".join(problems))
        spider.channels = spider.channels or list(cls.site.channels)
        spider.tz = ZoneInfo(cls.site.timezone)
        crawler.signals.connect(spider.dropped, signal=signals.request_dropped)
        spider.window = settings.getint("MIRROR_ARTICLE_WINDOW")
        spider.image_retries = settings.getint("MIRROR_IMAGES_RETRIES")
        spider.waiting = deque()  # waiting_entry() of each link not yet admitted
        spider.admitted = 0
        # URL -> requests this run admitted that are still in the window:
        # not the resumed queue's (JOBDIR), nor a retry of one that left.
        spider.in_window = Counter()
        # Article ids requested by this run, as a dict's keys: for 20000
        # ids a set's table takes 2 MB, a dict's 0.4 MB.
        spider.requested = {}
        crawler.signals.connect(spider.article_left,
                                signal=signals.request_left_downloader)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        return spider

    async def start(self):
        self.catalog = Catalog(self.mirror_dir)
        for channel in self.channels:
            url = self.base_url + self.site.feed_path.format(channel=channel)
            yield scrapy.Request(url, callback=self.parse_feed,
                                 errback=self.failed,
                                 cb_kwargs={"channel": channel})

    def closed(self, reason):
        if hasattr(self, "catalog"):
            self.catalog.close()

    def count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"newsmirror/{key}", n)

    # Feeds

    def parse_feed(self, response, channel):
        if not response.body.strip():
            self.logger.warning("feed is empty, skipped: %s", response.url)
            self.count("bad_feed/empty")
            self.count("feeds/failed")
            return
        entries = self.feed_entries(response)
        if entries is None:
            self.logger.warning("feed is not RSS, skipped: %s", response.url)
            self.count("bad_feed/not_rss")
            self.count("feeds/failed")
            return
        self.count("feeds/read")
        if not entries:
            self.logger.warning("feed has no items: %s", response.url)
            self.count("bad_feed/empty")
        seen = {}  # article id -> its entry
        for link, title, date in entries:
            link, path = self.on_site(response.url, link)
            if path is None:
                self.logger.warning("feed links off-site, skipped: %s", link)
                self.count("dropped/offsite_link")
                continue
            article_id = self.article_id_in(path)
            if article_id is None:
                self.logger.warning("not an article URL, skipped: %s", link)
                self.count("dropped/bad_url")
                continue
            if article_id in seen:
                self.logger.warning("feed lists an article twice, once "
                                    "fetched: %s", link)
                self.count("bad_feed/duplicate_item")
                continue
            seen[article_id] = (link, title, date)
        # The channel lists them all, those mirrored or requested already
        # (an article can sit in several channels' feeds) included.
        self.catalog.list_in_channel(self.site.name, channel, seen)
        mirrored = self.catalog.mirrored(self.site.name, seen, self.image_retries)
        skipped = Counter()
        for article_id, (link, title, date) in seen.items():
            if article_id in mirrored:
                skipped["skipped/already_mirrored"] += 1
            elif article_id in self.requested:
                skipped["skipped/in_another_feed"] += 1
            else:
                self.requested[article_id] = None
                self.waiting.append(waiting_entry(channel, link, title, date))
        for key, n in skipped.items():
            self.count(key, n)
        yield from self.admit()

    # Article requests go to the scheduler MIRROR_ARTICLE_WINDOW at a time:
    # a feed of 20000 articles waits here as 20000 short tuples, not in the
    # scheduler as 20000 requests. One more is admitted each time one leaves
    # the downloader, and all that wait when the crawl would go idle.

    def admit(self):
        while self.waiting and (not self.window or self.admitted < self.window):
            channel, link, feed_title, feed_date = \
                self.waiting.popleft().decode().split(WAITING_SEPARATOR)
            request = scrapy.Request(
                link, callback=self.parse_article, errback=self.failed,
                cb_kwargs={"channel": channel, "feed_title": feed_title,
                           "feed_date": feed_date})
            if self.window:
                self.admitted += 1
                self.in_window[request.url] += 1
            self.count("articles/requested")
            yield request

    def leave_window(self, request) -> bool:
        """Free the request's place in the window, if it holds one."""
        if not self.in_window[request.url]:
            return False
        self.in_window[request.url] -= 1
        if not self.in_window[request.url]:
            del self.in_window[request.url]
        self.admitted -= 1
        return True

    def article_left(self, request, spider):
        if self.window and self.leave_window(request):
            for next_request in self.admit():
                self.crawler.engine.crawl(next_request)

    def idle(self, spider):
        if self.waiting:
            self.admitted = 0  # idle: none is in flight
            self.in_window.clear()
            for next_request in self.admit():
                self.crawler.engine.crawl(next_request)
            raise DontCloseSpider

    def feed_entries(self, response) -> list[tuple[str, str, str]] | None:
        """The feed's items as (link, title, date) texts, or None if the
        response is not RSS. Read with lxml's own calls: a feed of a large
        mirror has thousands of items, and parsel makes a selector per
        query."""
        if not isinstance(response, TextResponse):
            return None
        text, repairs = well_formed_text(response.text)
        try:
            feed = Selector(text=text, type="xml")
        except ValueError:
            return None
        if not feed.xpath("/rss"):
            return None
        if repairs:
            self.logger.warning("feed is not well-formed XML, %d places "
                                "repaired: %s", repairs, response.url)
            self.count("bad_feed/repaired", repairs)
        return [((item.findtext("link") or "").strip(),
                 (item.findtext("title") or "").strip(),
                 (item.findtext("pubDate") or "").strip())
                for item in feed.root.iterfind("channel/item")]

    def on_site(self, feed_url: str, link: str) -> tuple[str, str | None]:
        """The link made absolute, and its path if it is on the site."""
        if link.startswith(self.origin) and "?" not in link and "#" not in link \
                and "/." not in link:
            return link, link[len(self.origin) - 1:]  # most links: no parsing
        link = urljoin(feed_url, link)
        parts = urlsplit(link)
        return link, parts.path if parts.netloc == self.host else None

    def article_id(self, url: str) -> str | None:
        return self.article_id_in(urlsplit(url).path)

    def article_id_in(self, path: str) -> str | None:
        m = self.site.article_url.search(path)
        return m.group("id") if m and ARTICLE_ID.fullmatch(m.group("id")) else None

    # Failed downloads (after Scrapy's retries)

    def failed(self, failure):
        request = failure.request
        kind = "feed" if request.callback == self.parse_feed else "article"
        if failure.check(HttpError):
            status = failure.value.response.status
            if kind == "article" and status in (404, 410):
                self.logger.warning("article gone (HTTP %s), skipped until it "
                                    "is back: %s", status, request.url)
                self.count(f"gone/{status}")
                return
            reason = f"http_{status}"
        elif failure.check(DownloadCancelledError):
            reason = "too_large"
        elif failure.check(IgnoreRequest):
            reason = IGNORED.get(str(failure.value), "ignored")
        else:
            reason = failure.type.__name__
        self.logger.error("%s not fetched (%s): %s: %s", kind, reason,
                          request.url, failure.getErrorMessage())
        self.count(f"failed/{reason}")
        if kind == "feed":
            self.count("feeds/failed")

    def dropped(self, request, spider):
        # The duplicate filter drops a redirect back to a page already
        # requested: a redirect loop.
        if request.meta.get("redirect_urls"):
            self.logger.error("redirect loop (back to a page already "
                              "requested), not fetched: %s",
                              " -> ".join([*request.meta["redirect_urls"], request.url]))
            self.count("failed/redirect_loop")
        # Or an article already requested: from another feed, or still in
        # the resumed JOBDIR queue. Its place goes to the next admitted
        # when a request leaves the downloader (admitting here, inside the
        # engine's crawl(), would recurse once per dropped article).
        else:
            self.leave_window(request)

    # Articles

    def parse_article(self, response, channel, feed_title, feed_date):
        if not isinstance(response, TextResponse):
            return self.drop("not_html", response.url)
        if not COMPLETE_HTML.search(response.body):
            retry = get_retry_request(response.request, spider=self,
                                      reason="truncated")
            return retry or self.drop("truncated", response.url)
        # Not response.css(): the selector it caches refers back to the
        # response, a cycle that keeps every page and its parsed tree in
        # memory until a full garbage collection (scrapy/scrapy#2977).
        page = Selector(text=response.text, type="html", base_url=response.url)
        body = page.css(self.site.body_css)
        title = " ".join((" ".join(page.css("h1 ::text").getall()).strip()
                          or page.css('meta[property="og:title"]::attr(content)').get("")
                          or feed_title).split())
        if not title:
            return self.drop("no_title", response.url)
        if not body:
            return self.drop("no_body", response.url)
        article_id = self.article_id(response.url)
        if article_id is None:
            return self.drop("bad_url", response.url)
        # A lead figure the site puts above the body goes first in it.
        lead_figure = page.css(self.site.lead_figure_css)[:1].getall() \
            if self.site.lead_figure_css else []
        return ArticleItem(
            id=article_id,
            site=self.site.name,
            url=self.canonical_url(response, page),
            channel=self.section(page) or channel,
            title=title,
            published=self.published(response, page, body, feed_date),
            body_html="".join([*lead_figure, body[0].get()]),
            source=self.source(body),
            lead_image=page.css(
                'meta[property="og:image"]::attr(content)').get("").strip(),
            tags=page.css('meta[name="keywords"]::attr(content)').getall()
            if self.site.keywords_are_tags else [],
            language=page.xpath("/html/@lang").get("").strip(),
        )

    def drop(self, reason: str, url: str) -> None:
        self.logger.warning("article dropped (%s): %s", reason, url)
        self.count(f"dropped/{reason}")

    def section(self, page) -> str | None:
        """The article's own channel, if its page names one of the site's."""
        if not self.site.section_css:
            return None
        for href in page.css(self.site.section_css).getall():
            m = self.site.section_url.search(urlsplit(href.strip()).path)
            if m and m.group("channel") in self.site.channels:
                return m.group("channel")
        return None

    def canonical_url(self, response, page) -> str:
        canonical = page.css('link[rel="canonical"]::attr(href)').get("")
        canonical = urljoin(response.url, canonical.strip())
        if canonical and self.article_id(canonical) == self.article_id(response.url) \
                and urlsplit(canonical).netloc == urlsplit(response.url).netloc:
            return canonical
        return response.url

    def source(self, body) -> str:
        for p in body.css("p"):
            m = self.site.source_label.match(" ".join(p.css("::text").getall()))
            if m:
                return " ".join(m.group("source").split())
        return ""

    def published(self, response, page, body, feed_date: str) -> str:
        """From the page's meta, the dateline, the URL, then the feed."""
        meta = page.css(
            'meta[property="article:published_time"]::attr(content)').get("").strip()
        dateline = self.site.dateline.search(" ".join(body.css("::text").getall()))
        url_date = URL_DATE.search(response.url)
        candidates = [
            ("meta", meta, lambda: datetime.fromisoformat(meta)),
            ("dateline", dateline,
             lambda: self.local_date(*dateline.group("y", "m", "d"))),
            ("URL", url_date, lambda: self.local_date(*url_date.groups())),
            ("feed", feed_date, lambda: parsedate_to_datetime(feed_date)),
        ]
        latest = datetime.now(timezone.utc) + FUTURE_SLACK
        for source, found, parse in candidates:
            if not found:
                continue
            try:
                value = parse()
            except (TypeError, ValueError, OverflowError):
                self.logger.warning("invalid %s date, not used: %s", source,
                                    response.url)
                self.count("bad_date/invalid")
                continue
            if value.tzinfo is None:
                value = value.replace(tzinfo=self.tz)
            if value > latest:
                self.logger.warning("%s date %s is in the future, not used: %s",
                                    source, value.isoformat(), response.url)
                self.count("bad_date/future")
                continue
            return value.isoformat()
        self.logger.warning("no valid date, using the crawl time: %s", response.url)
        self.count("bad_date/none")
        return datetime.now(self.tz).replace(microsecond=0).isoformat()

    def local_date(self, y, m, d) -> datetime:
        return datetime(int(y), int(m), int(d), tzinfo=self.tz)
