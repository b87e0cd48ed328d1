"""Worker processes: the pipelines' CPU work beside the crawl."""
import asyncio
import os
import select
import signal
import subprocess
import sys

import pytest

from newsmirror.workers import WorkerDied, Workers
from tests.conftest import ROOT


@pytest.mark.parametrize("size", [0, 1])
def test_work_runs_in_a_worker_process_and_its_cpu_is_counted(make_crawler, size):
    crawler = make_crawler(MIRROR_WORKERS=size)
    workers = Workers.of(crawler)
    try:
        pid = asyncio.run(workers.run("SomePipeline", os.getpid))
    finally:
        workers.close()
    assert (pid != os.getpid()) if size else pid == os.getpid()
    cpu_ms = crawler.stats.get_value("newsmirror/cpu_ms/SomePipeline/worker")
    assert (cpu_ms >= 0) if size else cpu_ms is None


def test_an_error_in_the_worker_is_raised_in_the_crawl(make_crawler):
    workers = Workers.of(make_crawler(MIRROR_WORKERS=1))
    try:
        with pytest.raises(ValueError, match="invalid literal"):
            asyncio.run(workers.run("SomePipeline", int, "x"))
    finally:
        workers.close()


def test_a_worker_that_dies_is_replaced(make_crawler):
    crawler = make_crawler(MIRROR_WORKERS=1)
    workers = Workers.of(crawler)

    async def die_then_work():
        first = await workers.run("SomePipeline", os.getpid)
        with pytest.raises(WorkerDied):
            await workers.run("SomePipeline", os._exit, 3)
        return first, await workers.run("SomePipeline", os.getpid)
    try:
        first, second = asyncio.run(die_then_work())
    finally:
        workers.close()
    assert first != second
    assert crawler.stats.get_value("newsmirror/worker_died") == 1


def test_one_pool_per_crawler(make_crawler):
    crawler, other = make_crawler(), make_crawler()
    assert Workers.of(crawler) is Workers.of(crawler)
    assert Workers.of(crawler) is not Workers.of(other)


# A crawl process that starts its worker, prints the worker's pid, and waits
# to be killed.
KILLED_CRAWL = """
import asyncio, os, sys
from scrapy.utils.test import get_crawler
from newsmirror.workers import WorkerDied, Workers
if __name__ == "__main__":
    workers = Workers.of(get_crawler(settings_dict={"MIRROR_WORKERS": 1}))
    print(asyncio.run(workers.run("Crawl", os.getpid)), flush=True)
    sys.stdin.read()
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
