"""Mirror the bundled sample site: serve it on 127.0.0.1 and crawl it.

    python -m newsmirror.sample [--out sample-mirror] [--json FILE]

Runs the real `secretchina` spider through the Scrapy engine with the
project's settings, pointed at the local copy, and leaves the mirror in
--out to look at: a tree of its own, apart from the live crawl's `mirror`
(its pages link to 127.0.0.1). The items go where the project's FEEDS
put them (beside the tree, in sample-mirror-items/), or to --json; a
rerun that finds nothing new writes no items file and leaves one there
as it was. Like `scrapy crawl`, it checks the settings (--out among
them) before it starts, refuses a tree another crawl is writing, and
exits with 1 when every feed failed.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from newsmirror import checks
from newsmirror.commands.crawl import FAILED, Refused, started
from newsmirror.extensions.summary import every_feed_failed
from newsmirror.sample.server import SiteServer, sample_site


def main(argv: list[str] | None = None) -> int:
    """The exit status `scrapy crawl` would give."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="sample-mirror", help="mirror directory")
    parser.add_argument("--json", help="JSON feed of the crawled items "
                        "(default: the project's FEEDS, beside the mirror)")
    args = parser.parse_args(argv)
    # Outside the project directory (no scrapy.cfg) use the packaged settings.
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newsmirror.settings")
    mirror_dir = Path(args.out).resolve()
    with SiteServer(sample_site()) as server:
        settings = get_project_settings()
        if args.json:
            settings.set("FEEDS", {args.json: {
                "format": "json", "overwrite": True, "store_empty": False}},
                priority="cmdline")
        settings.setdict({
            "SECRETCHINA_BASE_URL": server.base_url,
            "MIRROR_DIR": str(mirror_dir),
            # A local copy needs no politeness delay.
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
        }, priority="cmdline")
        process = CrawlerProcess(settings)  # sets up logging
        try:
            with started(process.settings, checks.setting_problems(process.settings)):
                crawler = process.create_crawler("secretchina")
                process.crawl(crawler)
                process.start()
        except Refused as refused:
            return refused.args[0]
    if every_feed_failed(crawler.stats.get_stats()):
        return FAILED
    items = args.json or f"{mirror_dir}-items/"
    print(f"mirror written to {mirror_dir} "
          f"(open {Path(args.out) / 'README.md'}); new items in {items}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
