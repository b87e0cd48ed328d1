"""Index: record each mirrored article and keep the list pages current.

Articles are recorded in the catalog MIRROR_CATALOG_BATCH at a time, one
commit each (a killed run fetches at most that many again); channel
indexes, the home page and feed.json (a bounded number of the newest
articles each) are rebuilt from the catalog for what changed only, every
MIRROR_INDEX_EVERY articles; tag pages, which list every article with the tag, when
the spider closes, so their cost does not grow with the mirror for every
batch (see newsmirror.mirror.catalog for why this is safe with several
processes and across crashes).
"""
from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from itemadapter import ItemAdapter

from newsmirror.mirror import render
from newsmirror.mirror.catalog import Catalog, channel_key
from newsmirror.mirror.files import inside, remove_stale_temp_files, write_atomic
from newsmirror.mirror.layout import FEED, HOME, index_path, qr_path, tag_page_path
from newsmirror.pipelines.markdown import public_url
from newsmirror.sites import SiteProfile, profile

logger = logging.getLogger(__name__)

# List pages of a fixed size, rebuilt after every batch.
BOUNDED_PAGES = ("channel", "home", "feed")


class IndexPipeline:
    def __init__(self, crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.mirror_dir = Path(settings.get("MIRROR_DIR"))
        self.base_url = settings.get("MIRROR_BASE_URL")
        self.title = settings.get("MIRROR_TITLE")
        self.index_size = settings.getint("MIRROR_INDEX_SIZE")
        self.home_size = settings.getint("MIRROR_HOME_SIZE")
        self.feed_size = settings.getint("MIRROR_FEED_SIZE")
        self.every = settings.getint("MIRROR_INDEX_EVERY")
        self.batch_size = settings.getint("MIRROR_CATALOG_BATCH")
        self.keep = settings.getint("MIRROR_KEEP_PER_CHANNEL")
        self.unlisted = 0  # recorded since the lists were last rebuilt
        self.catalog: Catalog | None = None
        self.batch: list[dict] = []

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        self.catalog = Catalog(self.mirror_dir)
        # Finish what a killed run left stale, and remove its temp files.
        removed = remove_stale_temp_files(self.mirror_dir)
        if removed:
            logger.warning("removed %d temp files left by a killed run", removed)
            self.stats.inc_value("newsmirror/stale_temp_removed", removed)
        self.catalog.mark_stale(self.missing_lists())
        self.rebuild()

    def close_spider(self):
        self.flush()
        self.retire_old()
        self.rebuild()
        self.catalog.close()

    def process_item(self, item):
        a = ItemAdapter(item)
        self.batch.append({
            "site": a["site"], "id": a["id"], "channel": a["channel"],
            "title": a["title"],
            "published": a["published"], "url": a["url"],
            "page_path": a["page_path"], "public_url": a["public_url"],
            "tags": a["tags"], "language": a["language"],
            "content_html": a["body_html"],
            "images_missing": a["images_missing"],
            "images": [i["path"] for i in a["images"] if i.get("path")],
        })
        if len(self.batch) >= self.batch_size:
            self.record()
        if self.unlisted >= self.every:
            self.flush()
        return item

    def missing_lists(self) -> list[tuple[str, str]]:
        """The home page and every channel's index that the menus link to,
        if not yet written: a channel not crawled (yet) gets an index that
        says it is empty, so no link in the tree is dead."""
        site = self.crawler.spider.site
        pages = {index_path(site.name, ch): ("channel", channel_key(site.name, ch))
                 for ch in site.channels}
        pages[HOME] = ("home", "")
        return [page for path, page in pages.items()
                if not (self.mirror_dir / path).exists()]

    def record(self) -> None:
        if self.batch:
            self.catalog.add(*self.batch)
            self.unlisted += len(self.batch)
            self.batch.clear()

    def flush(self) -> None:
        self.record()
        self.rebuild(BOUNDED_PAGES)
        self.unlisted = 0

    def retire_old(self) -> None:
        """MIRROR_KEEP_PER_CHANNEL: only each channel's newest pages stay
        in the tree; the lists that showed the others are rebuilt."""
        if not self.keep:
            return
        for site, channel in self.catalog.counts():
            old = self.catalog.beyond(site, channel, self.keep)
            if not old:
                continue
            # Files first: a run killed before the catalog knows retires
            # the same articles again.
            for article in old:
                for relpath in (article["page_path"], qr_path(article["page_path"])):
                    inside(self.mirror_dir, relpath).unlink(missing_ok=True)
            # Images after: a run killed in between leaves unused images
            # on disk, never a page without its images.
            images = self.catalog.retire(old)
            for relpath in images:
                inside(self.mirror_dir, relpath).unlink(missing_ok=True)
            logger.info("%d pages of channel %s/%s and %d images only they showed "
                        "removed from the mirror (MIRROR_KEEP_PER_CHANNEL=%d)",
                        len(old), site, channel, len(images), self.keep)
            self.stats.inc_value("newsmirror/retired", len(old))
            self.stats.inc_value("newsmirror/retired_images", len(images))

    def rebuild(self, kinds=None) -> None:
        # The sites with articles, and the one being crawled: read once for
        # all the pages rebuilt (a scan of the catalog; there can be
        # thousands of tag pages at close).
        sites = [profile(s) for s in sorted({*self.catalog.sites(),
                                             self.crawler.spider.site.name})]
        rebuilt = self.catalog.rebuild_stale(partial(self.build, sites), kinds)
        if rebuilt:
            self.stats.inc_value("newsmirror/list_pages_rebuilt", rebuilt)

    def write(self, relpath: str, text: str) -> None:
        write_atomic(inside(self.mirror_dir, relpath), text)

    def build(self, sites: list[SiteProfile], kind: str, key: str) -> None:
        """Write one list page; the mirror may hold several sites."""
        c = self.catalog
        settings = self.crawler.settings
        if kind == "channel":
            site_name, channel = key.split("/", 1)
            site = profile(site_name)
            path = index_path(site.name, channel)
            self.write(path, render.list_page(
                f"{render.mirror_title(self.title, [site])} · "
                f"{site.channels.get(channel, channel)}",
                path, c.in_channel(site.name, channel, self.index_size),
                render.menus(settings, [site])[0]))
        elif kind == "tag":
            path = tag_page_path(key)
            self.write(path, render.list_page(f"标签：{key}", path, c.tagged(key),
                                              render.menus(settings, sites)[0]))
        elif kind == "home":
            self.write(HOME, render.home_page(
                render.mirror_title(self.title, sites), sites, c.counts(),
                c.latest(self.home_size)))
        elif kind == "feed":
            self.write(FEED, render.json_feed(
                render.mirror_title(self.title, sites), public_url(self.base_url, HOME),
                public_url(self.base_url, FEED),
                c.latest(self.feed_size, with_content=True)))
