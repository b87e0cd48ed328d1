"""Never follow a redirect off the site.

Scrapy's OffsiteMiddleware lets every request with dont_filter=True through,
and the spider's requests all are (see its start()). A redirect to another
host is still refused here, before RobotsTxtMiddleware, so nothing at all is
fetched from that host; the spider's errback logs and counts it.
"""
from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached


class OffsiteRedirect(IgnoreRequest):
    """A redirect to a host outside the spider's allowed_domains."""


def on_site(host: str, domains: list[str]) -> bool:
    """The rule of Scrapy's OffsiteMiddleware: a domain or a subdomain."""
    return any(host == d or host.endswith(f".{d}") for d in domains)


class OffsiteRedirectMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        domains = getattr(self.crawler.spider, "allowed_domains", None)
        if not request.meta.get("redirect_urls") or not domains:
            return None
        if on_site(urlparse_cached(request).hostname or "", domains):
            return None
        raise OffsiteRedirect(
            f"redirected off-site from {request.meta['redirect_urls'][0]}")
