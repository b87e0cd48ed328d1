"""`scrapy crawl`, checking every setting and spider argument before the
crawl starts (newsmirror.checks), refusing to start while another crawl
writes the same tree (newsmirror.mirror.lock), and failing when every
feed failed.

scrapyd runs each job through this command too (scrapyd.runner calls
Scrapy's cmdline with the project's settings), so its jobs get the same
checks and exit status.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

from newsmirror import checks
from newsmirror.extensions.summary import every_feed_failed
from newsmirror.mirror.layout import CRAWL_LOCK
from newsmirror.mirror.lock import take_crawl_lock

logger = logging.getLogger(__name__)

# Exit statuses: Scrapy's for a usage error, and for a failed run.
BAD_SETTING = 2
FAILED = 1


class Refused(Exception):
    """The crawl did not start; args[0] is the exit status."""


@contextmanager
def started(settings, problems: list[str]) -> Iterator[None]:
    """Run the crawl inside this unless its settings have problems or
    another crawl holds the tree's lock: then each reason is logged as
    one line and Refused raised. (`scrapy crawl`, and the sample demo.)"""
    for problem in problems:
        logger.error("%s; the crawl did not start", problem)
    if problems:
        raise Refused(BAD_SETTING)
    mirror_dir = Path(settings["MIRROR_DIR"])
    lock = take_crawl_lock(mirror_dir, shared=bool(settings.get("REDIS_URL")))
    if lock is None:
        logger.error("another crawl is writing to %s (it holds %s); the crawl "
                     "did not start. Several processes share one crawl "
                     "through REDIS_URL.", mirror_dir, CRAWL_LOCK)
        raise Refused(FAILED)
    try:
        yield
    finally:
        os.close(lock)


class Command(ScrapyCrawlCommand):
    def process_options(self, args, opts) -> None:
        # -o/-O replace the project's default feed (Scrapy would merge it
        # in); a FEEDS given with -s is merged, as Scrapy documents.
        if (opts.output or opts.overwrite_output) \
                and self.settings.getpriority("FEEDS") <= SETTINGS_PRIORITIES["project"]:
            self.settings.set("FEEDS", {}, priority="project")
        try:
            super().process_options(args, opts)
        except UsageError as e:
            # Scrapy reads a dict setting's -s value (FEEDS) as JSON here,
            # and its message names neither the setting nor the value.
            problems = checks.dict_setting_problems(self.settings, opts.set)
            if problems:
                raise UsageError("; ".join(problems), print_help=False) from None
            raise e

    def run(self, args, opts) -> None:
        loader = self.crawler_process.spider_loader
        if len(args) != 1 or args[0] not in loader.list():
            super().run(args, opts)  # Scrapy's usage errors
            return
        for warning in checks.near_misses(self.settings, opts.spargs):
            logger.warning(warning)
        problems = (checks.setting_problems(self.settings)
                    + checks.argument_problems(loader.load(args[0]), opts.spargs))
        try:
            with started(self.settings, problems):
                super().run(args, opts)
        except Refused as refused:
            self.exitcode = refused.args[0]
            return
        if self.exitcode == 0 and every_feed_failed(self.crawler.stats.get_stats()):
            self.exitcode = FAILED

    def _create_crawler(self, spidercls):
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler
