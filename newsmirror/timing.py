"""CPU time spent in each item pipeline, as stats.

Set as Scrapy's ITEM_PROCESSOR, this manager wraps every pipeline's
process_item, open_spider and close_spider and adds the process CPU time
they take, in milliseconds, to `newsmirror/cpu_ms/<Pipeline>` (and
`.../<Pipeline>/open_spider`, `.../close_spider`), so the cost of each
stage shows in the crawl's stats without touching the pipelines. Only the
synchronous part of a method is counted: the pipelines here have no other.
"""
from __future__ import annotations

import functools
import time
from collections import deque

from scrapy.pipelines import ItemPipelineManager

STAGES = ("process_item", "open_spider", "close_spider")


class TimedItemPipelineManager(ItemPipelineManager):
    def __init__(self, *middlewares, crawler=None):
        super().__init__(*middlewares, crawler=crawler)
        for stage in STAGES:
            self.methods[stage] = deque(
                self._timed(method, stage) for method in self.methods[stage])

    def _timed(self, method, stage: str):
        key = f"newsmirror/cpu_ms/{type(method.__self__).__name__}"
        if stage != "process_item":
            key += f"/{stage}"
        stats = self.crawler.stats

        @functools.wraps(method)
        def timed(*args):
            start = time.process_time()
            try:
                return method(*args)
            finally:
                stats.inc_value(key, (time.process_time() - start) * 1000)

        # Pipelines still taking the deprecated spider argument get it.
        if method in self._mw_methods_requiring_spider:
            self._mw_methods_requiring_spider.add(timed)
        return timed
