"""One summary line at the end of a crawl."""
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
    return (f"mirror summary: {stats.get('newsmirror/pages_written', 0)} pages "
            f"written, {stats.get('newsmirror/skipped/already_mirrored', 0)} "
            f"skipped as already mirrored, dropped: {dropped_text}, "
            f"{failed} downloads failed")


class CrawlSummary:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler.stats)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider, reason):
        logger.info(summary_line(self.stats.get_stats()))
