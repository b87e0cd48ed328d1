"""Links: body links to the site's tag pages go to the mirror's tag page,
links to the site's articles to the mirror's page when the catalog holds
the article (else they stay), links to the site's home page (a site links
words to it) to the mirror's home page: on a Git host a relative link to a page
stays on that host, which readers can reach, while one to the site is
dead for them. The share block's link to the original is not the body's
and keeps pointing at the site.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

from itemadapter import ItemAdapter

from newsmirror.mirror import body, layout
from newsmirror.mirror.catalog import Catalog
from newsmirror.pipelines.tags import link_tag, merge_tags
from newsmirror.sites import SiteProfile, profile


class MirrorLinksPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.mirror_dir = Path(crawler.settings.get("MIRROR_DIR"))
        self.catalog: Catalog | None = None
        self.site_hosts: dict[str, set] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        self.spider = self.crawler.spider
        self.catalog = Catalog(self.mirror_dir)

    def close_spider(self):
        self.catalog.close()

    def hosts(self, site: SiteProfile) -> set:
        """The site's host, and the one the crawl reads it from (tests, a
        mirror of the site)."""
        if site.name not in self.site_hosts:
            self.site_hosts[site.name] = {urlsplit(site.base_url).hostname,
                                          urlsplit(self.spider.base_url).hostname}
        return self.site_hosts[site.name]

    def target(self, site: SiteProfile, href: str, text: str) -> str | None:
        """The mirror path a link of the body should go to, if any."""
        try:
            url = urlsplit(href)
            if url.hostname not in self.hosts(site):
                return None
        except ValueError:  # a bad port or IPv6 literal
            return None
        if url.path in ("", "/") and not url.query:
            return layout.HOME
        tag = site.tag_url.search(url.path)
        if tag:
            # The tag as TagsPipeline reads it from the same link.
            names = merge_tags([link_tag(tag, text)])
            return layout.tag_page_path(names[0]) if names else None
        article_id = self.spider.article_id(href)
        return self.catalog.page_of(site.name, article_id) if article_id else None

    def process_item(self, item):
        adapter = ItemAdapter(item)
        if "<a " not in adapter["body_html"]:
            return item
        page_dir = layout.page_dir(adapter["site"], adapter["id"], adapter["published"])
        site = profile(adapter["site"])
        root = body.parse(adapter["body_html"])
        changed = 0
        for link in root.iter("a"):
            target = self.target(site, link.get("href") or "", link.text_content())
            if target:
                link.set("href", quote(body.relative(target, page_dir)))
                changed += 1
        if changed:
            adapter["body_html"] = body.serialize(root)
            self.stats.inc_value("newsmirror/links_into_mirror", changed)
        return item
