"""secretchina.com (看中国): channel RSS feeds -> article pages -> items."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import scrapy
from parsel import Selector
from scrapy.http import TextResponse

from newsmirror.items import ArticleItem
from newsmirror.mirror.catalog import Catalog
from newsmirror.sites.secretchina import SECRETCHINA

URL_DATE = re.compile(r"/(\d{4})/(\d{1,2})/(\d{1,2})/")
# Dates further ahead than this are taken as wrong, not as scheduled.
FUTURE_SLACK = timedelta(days=1)


class SecretChinaSpider(scrapy.Spider):
    name = "secretchina"
    site = SECRETCHINA

    def __init__(self, *args, channels: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.channels = [c.strip() for c in channels.split(",") if c.strip()]

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.base_url = settings.get("SECRETCHINA_BASE_URL").rstrip("/")
        spider.mirror_dir = Path(settings.get("MIRROR_DIR"))
        unknown = [c for c in spider.channels if c not in cls.site.channels]
        if unknown:
            raise ValueError(f"unknown channels {unknown}; "
                             f"known: {', '.join(cls.site.channels)}")
        spider.channels = spider.channels or list(cls.site.channels)
        spider.tz = ZoneInfo(cls.site.timezone)
        return spider

    async def start(self):
        self.catalog = Catalog(self.mirror_dir)
        for channel in self.channels:
            url = self.base_url + self.site.feed_path.format(channel=channel)
            yield scrapy.Request(url, callback=self.parse_feed,
                                 cb_kwargs={"channel": channel})

    def closed(self, reason):
        if hasattr(self, "catalog"):
            self.catalog.close()

    def count(self, key: str) -> None:
        self.crawler.stats.inc_value(f"newsmirror/{key}")

    # Feeds

    def parse_feed(self, response, channel):
        items = self.feed_items(response)
        if items is None:
            self.logger.warning("feed is not RSS, skipped: %s", response.url)
            self.count("bad_feed/not_rss")
            return
        if not items:
            self.logger.warning("feed has no items: %s", response.url)
            self.count("bad_feed/empty")
        host = urlsplit(self.base_url).netloc
        seen = set()
        for entry in items:
            link = urljoin(response.url, entry.xpath("link/text()").get("").strip())
            if urlsplit(link).netloc != host:
                self.logger.warning("feed links off-site, skipped: %s", link)
                self.count("dropped/offsite_link")
                continue
            article_id = self.article_id(link)
            if article_id is None:
                self.logger.warning("not an article URL, skipped: %s", link)
                self.count("dropped/bad_url")
                continue
            if article_id in seen:
                continue
            seen.add(article_id)
            if self.catalog.has(article_id):
                self.count("skipped/already_mirrored")
                continue
            yield scrapy.Request(link, callback=self.parse_article, cb_kwargs={
                "channel": channel,
                "feed_title": entry.xpath("title/text()").get("").strip(),
                "feed_date": entry.xpath("pubDate/text()").get("").strip(),
            })

    @staticmethod
    def feed_items(response):
        """The feed's <item>s, or None if the response is not RSS."""
        if not isinstance(response, TextResponse):
            return None
        try:
            feed = Selector(text=response.text, type="xml")
        except ValueError:
            return None
        if not feed.xpath("/rss"):
            return None
        return feed.xpath("/rss/channel/item")

    def article_id(self, url: str) -> str | None:
        m = self.site.article_url.search(urlsplit(url).path)
        return m.group("id") if m and m.group("id").isdigit() else None

    # Articles

    def parse_article(self, response, channel, feed_title, feed_date):
        if not isinstance(response, TextResponse):
            return self.drop("not_html", response.url)
        body = response.css(self.site.body_css)
        title = " ".join(" ".join(response.css("h1 ::text").getall()).split()) \
            or response.css('meta[property="og:title"]::attr(content)').get("").strip() \
            or feed_title
        if not title:
            return self.drop("no_title", response.url)
        if not body:
            return self.drop("no_body", response.url)
        article_id = self.article_id(response.url)
        if article_id is None:
            return self.drop("bad_url", response.url)
        return ArticleItem(
            id=article_id,
            url=self.canonical_url(response),
            channel=channel,
            title=title,
            published=self.published(response, body, feed_date),
            body_html=body[0].get(),
            source=self.source(body),
            lead_image=response.css(
                'meta[property="og:image"]::attr(content)').get("").strip(),
            tags=response.css('meta[name="keywords"]::attr(content)').getall(),
            language=response.xpath("/html/@lang").get("").strip(),
        )

    def drop(self, reason: str, url: str) -> None:
        self.logger.warning("article dropped (%s): %s", reason, url)
        self.count(f"dropped/{reason}")

    def canonical_url(self, response) -> str:
        canonical = response.css('link[rel="canonical"]::attr(href)').get("")
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

    def published(self, response, body, feed_date: str) -> str:
        """From the page's meta, the dateline, the URL, then the feed."""
        candidates = [
            lambda: datetime.fromisoformat(response.css(
                'meta[property="article:published_time"]::attr(content)').get("")),
            lambda: self.local_date(*self.site.dateline.search(
                " ".join(body.css("::text").getall())).group("y", "m", "d")),
            lambda: self.local_date(*URL_DATE.search(response.url).groups()),
            lambda: parsedate_to_datetime(feed_date),
        ]
        latest = datetime.now(timezone.utc) + FUTURE_SLACK
        for candidate in candidates:
            try:
                value = candidate()
            except (AttributeError, TypeError, ValueError, IndexError):
                continue
            if value.tzinfo is None:
                value = value.replace(tzinfo=self.tz)
            if value > latest:
                self.count("bad_date/future")
                continue
            return value.isoformat()
        self.logger.warning("no valid date, using the crawl time: %s", response.url)
        self.count("bad_date/none")
        return datetime.now(self.tz).replace(microsecond=0).isoformat()

    def local_date(self, y, m, d) -> datetime:
        return datetime(int(y), int(m), int(d), tzinfo=self.tz)
