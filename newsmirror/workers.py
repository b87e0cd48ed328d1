"""Worker processes for the pipelines' pure CPU work, on the core that the
crawl's reactor thread leaves free.

One pool per crawler of MIRROR_WORKERS processes, shared by the pipelines
that hand work to it (cleaning, QR images) and closed when the spider
closes; 0 runs the work in the crawler's thread. What a worker spends on
a call is added to the stat newsmirror/cpu_ms/<Pipeline>/worker.

Each worker has a pipe that the event loop reads: no helper threads.
concurrent.futures' ProcessPoolExecutor, with its feeder and manager
threads, cost the crawl 0.4 ms of CPU per call here, ten times as much.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import signal
import time
from collections.abc import Callable
from weakref import WeakKeyDictionary

from scrapy import signals

logger = logging.getLogger(__name__)

_pools: WeakKeyDictionary = WeakKeyDictionary()


class WorkerDied(RuntimeError):
    """The worker process ended with this call in hand."""


def _serve(conn) -> None:
    """A worker: run each call it is sent, answer with the result or the
    exception and the CPU milliseconds it took; end when the crawl's end of
    the pipe closes (the crawl ended, even killed)."""
    # Ctrl-C reaches the whole process group; the crawl, which finishes
    # its items first, decides when this worker ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            call_id, function, args = conn.recv()
        except EOFError:
            return
        start = time.process_time()
        try:
            ok, value = True, function(*args)
        except Exception as exc:  # noqa: BLE001 - raised again in the crawl
            ok, value = False, exc
        cpu_ms = (time.process_time() - start) * 1000
        try:
            conn.send((call_id, ok, value, cpu_ms))
        except OSError:
            return
        except Exception as exc:  # noqa: BLE001 - an answer that won't pickle
            conn.send((call_id, False, RuntimeError(repr(exc)), cpu_ms))


class _Worker:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        # spawn: a fork of the running reactor's threads is unsafe.
        self.process = context.Process(target=_serve, args=(child,),
                                       name="newsmirror-worker", daemon=True)
        self.process.start()
        child.close()
        self.pending: dict[int, asyncio.Future] = {}
        self.loop = loop
        loop.add_reader(self.conn.fileno(), self._read)

    def _read(self) -> None:
        try:
            while self.conn.poll():
                call_id, ok, value, cpu_ms = self.conn.recv()
                future = self.pending.pop(call_id)
                if not future.cancelled():
                    future.set_result((ok, value, cpu_ms))
        except (EOFError, OSError):
            self.close()

    def close(self) -> None:
        if self.conn.closed:
            return
        self.loop.remove_reader(self.conn.fileno())
        self.conn.close()
        self.process.join(10)
        for future in self.pending.values():
            if not future.cancelled():
                future.set_exception(WorkerDied(
                    f"worker process {self.process.pid} ended "
                    f"(exit code {self.process.exitcode})"))
        self.pending.clear()


class Workers:
    def __init__(self, crawler):
        self.size = crawler.settings.getint("MIRROR_WORKERS")
        self.stats = crawler.stats
        self.workers: list[_Worker] = []
        self.call_ids = itertools.count()
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler) -> Workers:
        """The crawler's pool, made on first use."""
        if crawler not in _pools:
            _pools[crawler] = cls(crawler)
        return _pools[crawler]

    async def run(self, stage: str, function: Callable, *args):
        """function(*args) in the least busy worker process (in this thread
        if there are none); function and arguments must pickle. The pool
        belongs to the event loop it first runs on."""
        if self.size <= 0:
            return function(*args)
        worker = self._worker()
        call_id = next(self.call_ids)
        future = worker.loop.create_future()
        worker.pending[call_id] = future
        try:
            worker.conn.send((call_id, function, args))
        except OSError:  # the worker is gone
            worker.close()
        ok, value, cpu_ms = await future
        self.stats.inc_value(f"newsmirror/cpu_ms/{stage}/worker", cpu_ms)
        if not ok:
            raise value
        return value

    def _worker(self) -> _Worker:
        # A worker that died (killed, out of memory) is replaced.
        alive = [w for w in self.workers if not w.conn.closed]
        if len(alive) < len(self.workers):
            logger.error("%d worker process(es) died; starting new ones",
                         len(self.workers) - len(alive))
            self.stats.inc_value("newsmirror/worker_died",
                                 len(self.workers) - len(alive))
        loop = asyncio.get_running_loop()
        while len(alive) < self.size:
            alive.append(_Worker(loop))
        self.workers = alive
        return min(alive, key=lambda w: len(w.pending))

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers = []
