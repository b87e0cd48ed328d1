"""Publish the mirror at the end of every crawl (PUBLISH_TO).

On spider_closed, so it runs the same under `scrapy crawl`, scrapyd and
the Redis workers, after the pipelines have written the list pages. Git
runs in a thread, off the reactor; a failed push is logged and counted,
and the crawl still ends normally (the commit stays for the next run).
"""
from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from newsmirror.addons.publish import options
from newsmirror.publish.git import GitError, mask
from newsmirror.publish.publisher import PublishBusy, Publisher

logger = logging.getLogger(__name__)


class Publish:
    def __init__(self, crawler):
        self.options = options(crawler.settings)
        if not self.options.remotes:
            raise NotConfigured("PUBLISH_TO is empty")
        self.mirror_dir = crawler.settings.get("MIRROR_DIR")
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_closed(self, spider, reason):
        await maybe_deferred_to_future(deferToThread(self.publish))

    def publish(self) -> None:
        try:
            outcome = Publisher(self.mirror_dir, self.options).run()
        except (PublishBusy, GitError, OSError) as e:
            logger.error("publishing failed: %s", mask(str(e)))
            self.stats.set_value("newsmirror/publish/error", mask(str(e)))
            return
        stats = self.stats
        if outcome.commit:
            stats.set_value("newsmirror/publish/commit", outcome.commit[:12])
            stats.set_value("newsmirror/publish/files_committed", outcome.files)
        if outcome.repaired:
            stats.set_value("newsmirror/publish/repaired", len(outcome.repaired))
        if outcome.skipped_large:
            stats.set_value("newsmirror/publish/skipped_too_large", len(outcome.skipped_large))
        stats.set_value("newsmirror/publish/remotes_ok", len(outcome.remotes) - len(outcome.failed))
        stats.set_value("newsmirror/publish/remotes_failed", len(outcome.failed))
        stats.set_value("newsmirror/publish/remotes_pushed", sum(bool(r.pushed) for r in outcome.remotes))
        stats.set_value("newsmirror/publish/commits_pushed", sum(r.pushed for r in outcome.remotes))
        if outcome.failed:
            stats.set_value("newsmirror/publish/push_failed", ", ".join(r.url for r in outcome.failed))
            stats.set_value("newsmirror/publish/commits_pending",
                            max(r.pending for r in outcome.failed))
        stats.set_value("newsmirror/publish/repo_bytes", outcome.repo_bytes)
