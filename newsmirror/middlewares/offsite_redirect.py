"""Never follow a redirect off the site, and say so.

Scrapy's OffsiteMiddleware drops such a redirect silently (a DEBUG line),
and lets it through when the request has dont_filter (a retried one has).
This check runs when any request is scheduled, before anything is
fetched from the other host, not even its robots.txt.
"""
from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)


def on_site(host: str, domains: list[str]) -> bool:
    """The rule of Scrapy's OffsiteMiddleware: a domain or a subdomain."""
    return any(host == d or host.endswith(f".{d}") for d in domains)


class OffsiteRedirectMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
        crawler.signals.connect(mw.request_scheduled, signal=signals.request_scheduled)
        return mw

    def request_scheduled(self, request, spider) -> None:
        domains = getattr(spider, "allowed_domains", None)
        redirects = request.meta.get("redirect_urls")
        if not redirects or not domains or on_site(
                urlparse_cached(request).hostname or "", domains):
            return
        logger.warning("redirect off the site refused: %s -> %s",
                       redirects[0], request.url)
        self.crawler.stats.inc_value("newsmirror/failed/offsite_redirect")
        raise IgnoreRequest(f"redirected off-site from {redirects[0]}")
