"""The items feed in a local file, written to a temp file and renamed.

Scrapy's FileFeedStorage writes the feed in place: a crawl stopped with
Ctrl-C twice left `mirror-items/secretchina-<time>.json` cut off in the
middle, invalid JSON, for good. Here the feed is a hidden temp file beside
its path until the crawl closes it, then renamed into place whole; the
temp file of a crawl that never closed its feed (Ctrl-C twice, SIGKILL)
is removed by the next crawl writing a feed in that directory. Line
formats (JSON Lines, CSV) are written in place as Scrapy does: a reader
takes them line by line, during the run or after a stopped one.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from scrapy.extensions.feedexport import FileFeedStorage

from newsmirror.mirror.files import AtomicFile, remove_stale_temp_files

logger = logging.getLogger(__name__)

# Told apart from anyone else's temp files in the same directory (-o puts
# the feed wherever the user says).
FEED_TEMP_SUFFIX = ".newsmirror-feed.tmp"
LINE_FORMATS = frozenset({"jsonlines", "jl", "csv"})


class AtomicFileFeedStorage(FileFeedStorage):
    def __init__(self, uri, *, feed_options=None):
        super().__init__(uri, feed_options=feed_options)
        self.whole = (feed_options or {}).get("format") not in LINE_FORMATS

    def open(self, spider):
        if not self.whole:
            return super().open(spider)
        path = Path(self.path)
        if path.parent.is_dir():
            removed = remove_stale_temp_files(path.parent, FEED_TEMP_SUFFIX,
                                              recursive=False)
            if removed:
                logger.warning("removed %d unfinished feed files left by a "
                               "stopped crawl in %s", removed, path.parent)
        self.atomic = AtomicFile(path, suffix=FEED_TEMP_SUFFIX)
        if self.write_mode == "ab" and path.exists():  # -o appends
            with path.open("rb") as old:
                shutil.copyfileobj(old, self.atomic.file)
        return self.atomic.file

    def store(self, file):
        file.close()  # the post-processing wrapper's, if any, first
        if self.whole:
            self.atomic.commit()
