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


def locked_out(mirror_dir: Path) -> str:
    return (f"another crawl is writing to {mirror_dir} (it holds {CRAWL_LOCK}); the "
            "crawl did not start. Several processes share one crawl through REDIS_URL.")


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
        for problem in problems:
            logger.error("%s; the crawl did not start", problem)
        if problems:
            self.exitcode = BAD_SETTING
            return
        mirror_dir = Path(self.settings["MIRROR_DIR"])
        lock = take_crawl_lock(mirror_dir, shared=bool(self.settings.get("REDIS_URL")))
        if lock is None:
            logger.error(locked_out(mirror_dir))
            self.exitcode = FAILED
            return
        try:
            super().run(args, opts)
        finally:
            os.close(lock)
        if self.exitcode == 0 and every_feed_failed(self.crawler.stats.get_stats()):
            self.exitcode = FAILED

    def _create_crawler(self, spidercls):
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler
