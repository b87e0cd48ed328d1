"""Worker processes for the pipelines' pure CPU work, on the core that the
crawl's reactor thread leaves free.

One pool per crawler of MIRROR_WORKERS processes, shared by the pipelines
that hand work to it (cleaning, Markdown pages, QR images) and closed when
the spider closes; 0 runs the work in the crawler's thread. What a worker
spends on a call is added to the stat newsmirror/cpu_ms/<Pipeline>/worker.

The event loop talks to each worker over a socket, without helper
threads (concurrent.futures' ProcessPoolExecutor, with its feeder and
manager threads, cost the crawl 0.4 ms of CPU per call here, ten times as
much) and without ever blocking: calls and answers of any size queue in
the transport, so a worker busy answering never waits for the crawl.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import pickle
import signal
import socket
import struct
import time
from collections.abc import Callable
from weakref import WeakKeyDictionary

from scrapy import signals

logger = logging.getLogger(__name__)

# Each message is its pickle's length, then the pickle.
FRAME = struct.Struct("!Q")

_pools: WeakKeyDictionary = WeakKeyDictionary()


class WorkerDied(RuntimeError):
    """The worker process ended with this call in hand."""


def _serve(sock: socket.socket) -> None:
    """A worker: run each call it is sent and answer with the result or
    the exception, and the CPU milliseconds it took; end when the crawl's
    end of the socket closes (the crawl ended, even killed)."""
    # Ctrl-C reaches the whole process group; the crawl, which finishes
    # its items first, decides when this worker ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with sock, sock.makefile("rb") as calls:
        while len(header := calls.read(FRAME.size)) == FRAME.size:
            size = FRAME.unpack(header)[0]
            if len(message := calls.read(size)) < size:
                return  # the crawl ended in the middle of a call
            call_id, function, args = pickle.loads(message)
            start = time.process_time()
            try:
                ok, value = True, function(*args)
            except Exception as exc:  # noqa: BLE001 - raised again in the crawl
                ok, value = False, exc
            cpu_ms = (time.process_time() - start) * 1000
            try:
                answer = pickle.dumps((call_id, ok, value, cpu_ms))
            except Exception as exc:  # noqa: BLE001 - an answer that won't pickle
                answer = pickle.dumps((call_id, False, RuntimeError(repr(exc)), cpu_ms))
            try:
                sock.sendall(FRAME.pack(len(answer)) + answer)
            except OSError:
                return


class _Worker(asyncio.Protocol):
    """The crawl's end of one worker process."""

    def __init__(self, process):
        self.process = process
        self.pending: dict[int, asyncio.Future] = {}
        self.received = bytearray()
        self.transport: asyncio.Transport | None = None
        self.called = False

    @classmethod
    async def start(cls) -> _Worker:
        context = multiprocessing.get_context("spawn")
        ours, theirs = socket.socketpair()
        # spawn: a fork of the running reactor's threads is unsafe.
        process = context.Process(target=_serve, args=(theirs,),
                                  name="newsmirror-worker", daemon=True)
        process.start()
        theirs.close()
        _, worker = await asyncio.get_running_loop().create_unix_connection(
            lambda: cls(process), sock=ours)
        return worker

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport):
        self.transport = transport

    def call(self, call_id: int, function: Callable, args: tuple) -> asyncio.Future:
        message = pickle.dumps((call_id, function, args))
        future = asyncio.get_running_loop().create_future()
        if not self.alive:
            future.set_exception(self.died())
            return future
        self.pending[call_id] = future
        self.called = True
        self.transport.write(FRAME.pack(len(message)) + message)
        return future

    def data_received(self, data: bytes) -> None:
        self.received += data
        while len(self.received) >= FRAME.size:
            end = FRAME.size + FRAME.unpack_from(self.received)[0]
            if len(self.received) < end:
                return
            call_id, ok, value, cpu_ms = pickle.loads(self.received[FRAME.size:end])
            del self.received[:end]
            future = self.pending.pop(call_id)
            if not future.cancelled():
                future.set_result((ok, value, cpu_ms))

    def connection_lost(self, exc) -> None:
        self.process.join(10)
        for future in self.pending.values():
            if not future.cancelled():
                future.set_exception(self.died())
        self.pending.clear()

    def died(self) -> WorkerDied:
        return WorkerDied(f"worker process {self.process.pid} ended "
                          f"(exit code {self.process.exitcode})")

    def close(self) -> None:
        if self.alive:
            if self.called:
                # The worker reads the end of its calls, finishes and exits.
                self.transport.get_extra_info("socket").shutdown(socket.SHUT_WR)
            else:
                # It has no work, and may still be starting: no waiting.
                self.process.terminate()
            self.process.join(10)
            self.transport.close()


class Workers:
    def __init__(self, crawler):
        self.size = crawler.settings.getint("MIRROR_WORKERS")
        self.stats = crawler.stats
        self.workers: list[_Worker] = []
        self.starting = asyncio.Lock()
        self.call_ids = itertools.count()
        crawler.signals.connect(self.open, signal=signals.spider_opened)
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler) -> Workers:
        """The crawler's pool, made on first use."""
        if crawler not in _pools:
            _pools[crawler] = cls(crawler)
        return _pools[crawler]

    async def open(self) -> None:
        """Start the workers as the spider opens, without waiting for them:
        they get ready (about half a second) while the feeds download,
        and a crawl that finds nothing new does not wait for them."""
        if self.size > 0:
            await self._worker()

    async def run(self, stage: str, function: Callable, *args):
        """function(*args) in the least busy worker process (in this thread
        if there are none); function, arguments and result must pickle. The
        pool belongs to the event loop it first runs on."""
        if self.size <= 0:
            return function(*args)
        worker = await self._worker()
        ok, value, cpu_ms = await worker.call(next(self.call_ids), function, args)
        self.stats.inc_value(f"newsmirror/cpu_ms/{stage}/worker", cpu_ms)
        if not ok:
            raise value
        return value

    async def _worker(self) -> _Worker:
        async with self.starting:
            # A worker that died (killed, out of memory) is replaced.
            alive = [w for w in self.workers if w.alive]
            if len(alive) < len(self.workers):
                died = len(self.workers) - len(alive)
                logger.error("%d worker process(es) died; starting new ones", died)
                self.stats.inc_value("newsmirror/worker_died", died)
            while len(alive) < self.size:
                alive.append(await _Worker.start())
            self.workers = alive
        return min(alive, key=lambda w: len(w.pending))

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers = []
