"""Worker processes: the pipelines' CPU work beside the crawl."""
import asyncio
import os
import select
import signal
import subprocess
import sys

import pytest
from scrapy import signals

from newsmirror.pipelines.workers import WorkerDied, Workers
from tests.conftest import ROOT, run_closing


@pytest.mark.parametrize("size", [0, 1])
def test_work_runs_in_a_worker_process_and_its_cpu_is_counted(make_crawler, size):
    crawler = make_crawler(MIRROR_WORKERS=size)
    workers = Workers.of(crawler)
    pid = run_closing(workers, lambda: workers.run("SomePipeline", os.getpid))
    assert (pid != os.getpid()) if size else pid == os.getpid()
    cpu_ms = crawler.stats.get_value("newsmirror/cpu_ms/SomePipeline/worker")
    assert (cpu_ms >= 0) if size else cpu_ms is None


def test_large_calls_and_answers_pass_whole(make_crawler):
    workers = Workers.of(make_crawler(MIRROR_WORKERS=1))
    texts = [str(n) * 3_000_000 for n in range(4)]

    async def calls():
        return await asyncio.gather(*(workers.run("SomePipeline", str.upper, t)
                                      for t in texts))
    assert run_closing(workers, calls) == texts


def test_an_error_in_the_worker_is_raised_in_the_crawl(make_crawler):
    workers = Workers.of(make_crawler(MIRROR_WORKERS=1))
    with pytest.raises(ValueError, match="invalid literal"):
        run_closing(workers, lambda: workers.run("SomePipeline", int, "x"))


def test_a_worker_that_dies_is_replaced(make_crawler):
    crawler = make_crawler(MIRROR_WORKERS=1)
    workers = Workers.of(crawler)

    async def die_then_work():
        first = await workers.run("SomePipeline", os.getpid)
        with pytest.raises(WorkerDied):
            await workers.run("SomePipeline", os._exit, 3)
        return first, await workers.run("SomePipeline", os.getpid)
    first, second = run_closing(workers, die_then_work)
    assert first != second
    assert crawler.stats.get_value("newsmirror/worker_died") == 1


def test_the_workers_start_when_the_spider_opens_and_end_at_close(make_crawler):
    crawler = make_crawler(MIRROR_WORKERS=2)
    workers = Workers.of(crawler)

    async def open_spider_and_use_one():
        await crawler.signals.send_catch_log_async(signals.spider_opened,
                                                   spider=crawler.spider)
        assert [w.process.is_alive() for w in workers.workers] == [True, True]
        await workers.workers[0].call(0, os.getpid, ())
        return list(workers.workers)
    used, unused = run_closing(workers, open_spider_and_use_one)
    # The used one finished its calls and exited; the other, never
    # called (a rerun finding nothing new), was stopped without waiting
    # for it to finish starting.
    assert used.process.exitcode == 0
    assert unused.process.exitcode is not None


def test_one_pool_per_crawler(make_crawler):
    crawler, other = make_crawler(), make_crawler()
    assert Workers.of(crawler) is Workers.of(crawler)
    assert Workers.of(crawler) is not Workers.of(other)


# A crawl process that starts its worker, prints the worker's pid, and waits
# to be killed.
KILLED_CRAWL = """
import asyncio, os, sys
from scrapy.utils.test import get_crawler
from newsmirror.pipelines.workers import Workers
if __name__ == "__main__":
    workers = Workers.of(get_crawler(settings_dict={"MIRROR_WORKERS": 1}))
    async def crawl():
        print(await workers.run("Crawl", os.getpid), flush=True)
        sys.stdin.read()
    asyncio.run(crawl())
"""


def test_a_worker_ends_when_the_crawl_process_is_killed(tmp_path):
    script = tmp_path / "crawl.py"
    script.write_text(KILLED_CRAWL)
    crawl = subprocess.Popen([sys.executable, script], cwd=ROOT, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
    worker = int(crawl.stdout.readline())
    assert worker != crawl.pid
    os.kill(crawl.pid, signal.SIGKILL)
    crawl.wait()
    # The orphaned worker is reparented; wait for it by its pidfd.
    pidfd = os.pidfd_open(worker)
    try:
        assert select.select([pidfd], [], [], 30)[0], "worker outlived the crawl"
    finally:
        os.close(pidfd)
