"""JOBDIR without Scrapy's saved duplicate filter.

With JOBDIR, Scrapy keeps every request it has seen in requests.seen and
filters them out in every later run with that JOBDIR: the feeds were never
read again, and the articles a killed run had scheduled never fetched.
What is mirrored is the catalog's to say, so the duplicate filter here
lasts one run. An add-on, so that another add-on's filter (REDIS_URL's
shared one) is left alone.
"""
from __future__ import annotations

from scrapy.dupefilters import RFPDupeFilter
from scrapy.settings import SETTINGS_PRIORITIES


class RunDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, never read from nor saved to JOBDIR."""

    @classmethod
    def from_crawler(cls, crawler):
        return cls(debug=crawler.settings.getbool("DUPEFILTER_DEBUG"),
                   fingerprinter=crawler.request_fingerprinter)


class RunOnlyDupeFilter:
    def update_settings(self, settings) -> None:
        if settings.getpriority("DUPEFILTER_CLASS") <= SETTINGS_PRIORITIES["default"]:
            settings.set("DUPEFILTER_CLASS", "newsmirror.addons.jobdir.RunDupeFilter",
                         priority="addon")
