"""The switch to a crawl shared by several processes: set REDIS_URL.

An add-on (see ADDONS in settings.py): with REDIS_URL set, the scheduler
is scrapy-redis's, extended by newsmirror.distributed.scheduler so that a killed
worker's requests are not lost; without it nothing changes and Redis is
never imported.
"""
from __future__ import annotations

REDIS_SETTINGS = {
    "SCHEDULER": "newsmirror.distributed.scheduler.LeasedScheduler",
    "SCHEDULER_QUEUE_CLASS": "newsmirror.distributed.scheduler.HeldPriorityQueue",
    "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    # The queue and the seen requests outlive each worker: they are the
    # shared crawl. A new round starts when a worker finds no work left.
    "SCHEDULER_PERSIST": True,
}


class Distributed:
    def update_settings(self, settings) -> None:
        if settings.get("REDIS_URL"):
            settings.setdict(REDIS_SETTINGS, priority="addon")
            # Every article request goes to the shared queue at once, over
            # the project's window: a worker that crashes must leave no
            # article that only it knew of.
            settings.set("MIRROR_ARTICLE_WINDOW", 0, priority="cmdline")
            # An article's request is released once its item is through
            # the pipelines: it must be in the catalog by then.
            settings.set("MIRROR_CATALOG_BATCH", 1, priority="cmdline")
