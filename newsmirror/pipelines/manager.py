"""CPU time spent in each item pipeline, as stats.

Set as Scrapy's ITEM_PROCESSOR, this manager wraps every pipeline's
process_item, open_spider and close_spider and adds the process CPU time
they take, in milliseconds, to `newsmirror/cpu_ms/<Pipeline>` (and
`.../<Pipeline>/open_spider`, `.../close_spider`), so the cost of each
stage shows in the crawl's stats without touching the pipelines. For a
coroutine, each of its own steps is timed, not what runs while it waits;
work a pipeline hands to other processes is that pipeline's to count.
"""
from __future__ import annotations

import functools
import inspect
import time
from collections import deque
from collections.abc import Callable

from scrapy.pipelines import ItemPipelineManager

STAGES = ("process_item", "open_spider", "close_spider")


class _TimedSteps:
    """Awaits a coroutine, timing each step it runs on this thread."""

    def __init__(self, coro, add: Callable[[float], None]):
        self.coro, self.add = coro, add

    def __await__(self):
        steps = self.coro.__await__()
        resume, value = steps.send, None
        while True:
            start = time.process_time()
            try:
                waiting_on = resume(value)
            except StopIteration as done:
                return done.value
            finally:
                self.add(start)
            try:
                value, resume = (yield waiting_on), steps.send
            except BaseException as exc:  # thrown into us while waiting
                value, resume = exc, steps.throw


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

        def add(start: float) -> None:
            stats.inc_value(key, (time.process_time() - start) * 1000)

        @functools.wraps(method)
        def timed(*args):
            start = time.process_time()
            try:
                result = method(*args)
            finally:
                add(start)
            return _TimedSteps(result, add) if inspect.iscoroutine(result) \
                else result

        # Pipelines still taking the deprecated spider argument get it.
        if method in self._mw_methods_requiring_spider:
            self._mw_methods_requiring_spider.add(timed)
        return timed
