"""One summary line at the end of a crawl, and an error line when every
feed failed (the `crawl` command then exits non-zero)."""
from __future__ import annotations

import logging

from scrapy import signals

logger = logging.getLogger(__name__)


def summary_line(stats: dict) -> str:
    dropped = {k.rsplit("/", 1)[1]: v for k, v in sorted(stats.items())
               if k.startswith("newsmirror/dropped/")}
    # The spider's errback counts every request that ended in an error.
    failed = sum(v for k, v in stats.items()
                 if k.startswith(("newsmirror/failed/", "newsmirror/gone/")))
    dropped_text = ", ".join(f"{k} {v}" for k, v in dropped.items()) or "none"
    # Mirrored: through every pipeline, in the catalog. A page already on
    # disk byte for byte (the catalog was deleted) is mirrored, not written.
    return (f"mirror summary: {stats.get('item_scraped_count', 0)} articles "
            f"mirrored ({stats.get('newsmirror/pages_written', 0)} pages new or "
            f"changed), {stats.get('newsmirror/skipped/already_mirrored', 0)} "
            f"skipped as already mirrored, dropped: {dropped_text}, "
            f"{failed} downloads failed{publish_text(stats)}")


def publish_text(stats: dict) -> str:
    """What publishing did (newsmirror.extensions.publish), if it ran."""
    if "newsmirror/publish/error" in stats:
        return f"; publishing failed: {stats['newsmirror/publish/error']}"
    if "newsmirror/publish/remotes_ok" not in stats:
        return ""
    ok, failed = stats["newsmirror/publish/remotes_ok"], stats["newsmirror/publish/remotes_failed"]
    commit = stats.get("newsmirror/publish/commit")
    text = (f"; published: {f'commit {commit}' if commit else 'nothing new'}, "
            f"pushed to {stats.get('newsmirror/publish/remotes_pushed', 0)}, "
            f"{ok} of {ok + failed} remotes up to date")
    if failed:
        text += (f", push failed to {stats['newsmirror/publish/push_failed']} "
                 f"({stats['newsmirror/publish/commits_pending']} commits pending)")
    return text + f", repository {stats['newsmirror/publish/repo_bytes'] / 2**20:.1f} MiB"


def every_feed_failed(stats: dict) -> bool:
    """Feeds failed and none was read: the crawl could mirror nothing.
    (A Redis worker whose feeds another worker read has neither.)"""
    return bool(stats.get("newsmirror/feeds/failed")) \
        and not stats.get("newsmirror/feeds/read")


class CrawlSummary:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler.stats)
        # After spider_closed, whose handlers (publishing) it reports on.
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_stopped(self):
        stats = self.stats.get_stats()
        logger.info(summary_line(stats))
        if every_feed_failed(stats):
            logger.error("every feed failed (%d): nothing could be mirrored; "
                         "see the errors above", stats["newsmirror/feeds/failed"])
