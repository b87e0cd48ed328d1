"""Markdown export: the cleaned article -> pages/<channel>/<id>.md."""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import html_to_markdown
from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from newsmirror.mirror.files import UnsafePath, inside, write_atomic
from newsmirror.mirror.render import article_page, default_menu, tidy

logger = logging.getLogger(__name__)

# Escape everything that could turn article text into Markdown syntax.
MARKDOWN_OPTIONS = html_to_markdown.ConversionOptions(
    heading_style="atx", bullets="-", strong_em_symbol="*",
    escape_asterisks=True, escape_underscores=True, escape_misc=True,
    newline_style="backslash", autolinks=False,
)


def to_markdown(body_html: str) -> str:
    return tidy(html_to_markdown.convert(body_html, MARKDOWN_OPTIONS).content)


def public_url(base_url: str, relpath: str) -> str:
    return f"{base_url.rstrip('/')}/{quote(relpath)}"


class MarkdownPagePipeline:
    def __init__(self, crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.mirror_dir = Path(settings.get("MIRROR_DIR"))
        self.base_url = settings.get("MIRROR_BASE_URL")
        self.menu = settings.getlist("MIRROR_MENU")
        self.footer = settings.getlist("MIRROR_FOOTER")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        adapter = ItemAdapter(item)
        site = self.crawler.spider.site
        page_path = f"pages/{adapter['channel']}/{adapter['id']}.md"
        try:
            target = inside(self.mirror_dir, page_path)
        except UnsafePath:
            self.stats.inc_value("newsmirror/dropped/unsafe_path")
            raise DropItem(f"page path would leave the mirror: {page_path!r} "
                           f"for {adapter['url']}")
        adapter["page_path"] = page_path
        adapter["qr_path"] = f"{page_path}.png"
        adapter["public_url"] = public_url(self.base_url, page_path)
        adapter["body_markdown"] = to_markdown(adapter["body_html"])
        page = article_page(
            adapter.asdict(), site.channels.get(adapter["channel"], adapter["channel"]),
            self.menu or default_menu(site.channels),
            self.footer or [("首页", "README.md")])
        if write_atomic(target, page):
            self.stats.inc_value("newsmirror/pages_written")
        return item
