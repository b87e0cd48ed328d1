"""JOBDIR: a duplicate filter for one run, that knows the resumed queue.

With JOBDIR, Scrapy keeps every request it has seen in requests.seen and
filters them out in every later run with that JOBDIR: the feeds were never
read again, and the articles a killed run had scheduled never fetched.
What is mirrored is the catalog's to say, so the duplicate filter here
lasts one run. But every run reads the feeds again, so a resumed run
would request once more each article still in the queue it resumes: the
scheduler here first shows the filter every request in that queue.
An add-on, so that another add-on's scheduler and filter (REDIS_URL's
shared ones) are left alone.
"""
from __future__ import annotations

from scrapy.core.scheduler import Scheduler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.settings import SETTINGS_PRIORITIES


class RunDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, never read from nor saved to JOBDIR."""

    @classmethod
    def from_crawler(cls, crawler):
        return cls(debug=crawler.settings.getbool("DUPEFILTER_DEBUG"),
                   fingerprinter=crawler.request_fingerprinter)


class ResumingScheduler(Scheduler):
    """Scrapy's scheduler; the requests of a resumed JOBDIR queue are seen
    by the duplicate filter before any new one is offered."""

    def open(self, spider):
        opened = super().open(spider)
        if self.dqs:
            # Popped and pushed back in reverse: the same queue, in order.
            pending = list(iter(self.dqs.pop, None))
            for request in reversed(pending):
                self.df.request_seen(request)
                self.dqs.push(request)
        return opened


class ResumableJobdir:
    def update_settings(self, settings) -> None:
        default = SETTINGS_PRIORITIES["default"]
        if settings.getpriority("DUPEFILTER_CLASS") <= default:
            settings.set("DUPEFILTER_CLASS", "newsmirror.addons.jobdir.RunDupeFilter",
                         priority="addon")
        if settings.getpriority("SCHEDULER") <= default:
            settings.set("SCHEDULER", "newsmirror.addons.jobdir.ResumingScheduler",
                         priority="addon")
