"""scrapy-redis's scheduler, made safe for workers that crash.

scrapy-redis pops a request out of Redis and forgets it: a worker killed
while it downloads or parses loses that request for good, because the
shared duplicate filter has already seen it. Here a popped request is
*held* in Redis under the worker's name (a hash `<spider>:held:<worker>`)
until the worker is done with it:

- its item (an article page gives one) has been through the pipelines
  (the article is in the catalog, or dropped);
- or its successor (a retry, a redirect) is in the queue;
- or the worker is idle or closing, so everything it took is finished.

Each worker renews a lease (`<spider>:lease:<worker>`, REDIS_WORKER_LEASE
seconds). An idle worker puts back into the queue what a worker whose
lease ran out still held, and does not close while other workers hold
requests, so the last worker standing finishes a crashed worker's share.
A request can thus be downloaded twice (at least once), but the mirror
records each article once: the catalog is keyed by article id.

The duplicate filter is shared so that workers starting together seed
the feeds once; it is cleared when a round ends (see JOIN and LEAVE), so
the next start reads the feeds again and the spider skips, through the
catalog, the articles already mirrored.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.asyncio import create_looping_call
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

logger = logging.getLogger(__name__)

HELD = "newsmirror_held"  # request.meta: the request as held in Redis

# Each script runs atomically in Redis, so two workers never both take
# (or both put back) the same request.
POP_AND_HOLD = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if r[1] == nil then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], r[1], r[2])
return r[1]
"""
# KEYS: lease, held, queue, workers; ARGV: worker. Only once the lease is gone.
REQUEUE_IF_GONE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local held = redis.call('HGETALL', KEYS[2])
for i = 1, #held, 2 do redis.call('ZADD', KEYS[3], held[i + 1], held[i]) end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[4], ARGV[1])
return #held / 2
"""
# A round of the crawl ends when the last worker leaves with the queue
# empty: the seen requests are forgotten, so the next start reads the
# feeds again. A worker that starts alone to an empty queue also begins a
# new round (the last one ended in a crash).
# KEYS: workers, queue, dupefilter; ARGV: worker.
JOIN = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) > 1 or redis.call('ZCARD', KEYS[2]) > 0 then
  return 0
end
redis.call('DEL', KEYS[3])
return 1
"""
# KEYS: workers, queue, dupefilter, held, lease; ARGV: worker.
LEAVE = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[4], KEYS[5])
if redis.call('SCARD', KEYS[1]) > 0 or redis.call('ZCARD', KEYS[2]) > 0 then
  return 0
end
redis.call('DEL', KEYS[3])
return 1
"""


class HeldPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue; pop() holds what it hands out."""

    held_key = ""  # set by LeasedScheduler.open()

    def pop(self, timeout=0):
        member = self.server.eval(POP_AND_HOLD, 2, self.key, self.held_key)
        if not member:
            return None
        request = self._decode_request(member)
        request.meta[HELD] = member
        return request


class LeasedScheduler(Scheduler):
    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.lease = crawler.settings.getint("REDIS_WORKER_LEASE")
        scheduler.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        scheduler.waiting_for = None
        for signal in (signals.item_scraped, signals.item_dropped,
                       signals.item_error):
            crawler.signals.connect(scheduler.item_done, signal=signal)
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    def key(self, kind: str, worker: str = "") -> str:
        return f"{self.spider.name}:{kind}:{worker or self.worker}"

    def open(self, spider):
        super().open(spider)
        self.workers_key = f"{spider.name}:workers"
        self.held_key = self.queue.held_key = self.key("held")
        self.renew_lease()
        if self.server.eval(JOIN, 3, self.workers_key, self.queue.key,
                            self.df.key, self.worker):
            logger.info("redis: new round, the feeds are read again")
        self.renewal = create_looping_call(self.renew_lease)
        self.renewal.start(max(self.lease / 3, 0.5), now=False)
        logger.info("redis: worker %s joined (%d requests queued)",
                    self.worker, len(self.queue))

    def renew_lease(self) -> None:
        self.server.set(self.key("lease"), self.worker, ex=self.lease)

    def close(self, reason):
        # Scrapy closes the scheduler only once every request it handed
        # out is finished, whatever the reason (Ctrl-C included).
        self.renewal.stop()
        if self.server.eval(LEAVE, 5, self.workers_key, self.queue.key,
                            self.df.key, self.held_key, self.key("lease"),
                            self.worker):
            logger.info("redis: last worker out, the round is over")
        super().close(reason)

    def enqueue_request(self, request):
        # A retry or redirect carries on the request it came from.
        predecessor = request.meta.pop(HELD, None)
        queued = super().enqueue_request(request)
        if predecessor is not None:
            self.server.hdel(self.held_key, predecessor)
        return queued

    def item_done(self, response=None, **kwargs) -> None:
        request = getattr(response, "request", None)
        if request is not None and HELD in request.meta:
            self.server.hdel(self.held_key, request.meta[HELD])

    def requeue(self, worker: str) -> int:
        """Put back what a worker whose lease ran out held; -1 if alive."""
        n = self.server.eval(REQUEUE_IF_GONE, 4, self.key("lease", worker),
                             self.key("held", worker), self.queue.key,
                             self.workers_key, worker)
        if n > 0:
            logger.warning("redis: worker %s stopped holding %d requests; "
                           "they are back in the queue", worker, n)
            self.stats.inc_value("newsmirror/redis/requeued", n)
        return n

    def spider_idle(self, spider) -> None:
        # Idle: every request this worker took is finished.
        self.server.delete(self.held_key)
        busy = []
        for member in self.server.smembers(self.workers_key):
            worker = member.decode()
            if worker != self.worker and self.requeue(worker) < 0 \
                    and self.server.hlen(self.key("held", worker)):
                busy.append(worker)
        if len(self.queue):
            raise DontCloseSpider
        if busy:
            if busy != self.waiting_for:
                logger.info("redis: queue empty; waiting for workers %s, "
                            "which still hold requests", ", ".join(busy))
            self.waiting_for = busy
            raise DontCloseSpider
