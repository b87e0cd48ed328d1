"""Retries that wait: exponential backoff, and the server's Retry-After.

Scrapy 2.19's RetryMiddleware retries at once and ignores Retry-After
(scrapy/scrapy#3849). This subclass decides what to retry exactly as Scrapy
does (RETRY_TIMES, RETRY_HTTP_CODES, RETRY_EXCEPTIONS, dont_retry) and only
waits before handing the retry back: RETRY_BACKOFF_BASE * 2**(n-1) seconds
before the n-th retry, or longer if Retry-After asks, never more than
RETRY_BACKOFF_MAX. The wait holds back the retried request only; AutoThrottle
slows the rest of the site when it answers slowly.

A request's meta "retry_http_codes" replaces RETRY_HTTP_CODES for it alone,
as Scrapy's "max_retry_times" does RETRY_TIMES (images retry 404 too).
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.asyncio import sleep
from scrapy.utils.python import global_object_name
from scrapy.utils.response import response_status_message

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | None,
                        now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delay-seconds or an HTTP date (RFC 9110)."""
    text = (value or b"").decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.max = settings.getfloat("RETRY_BACKOFF_MAX")

    async def process_response(self, request, response):
        result = response
        codes = request.meta.get("retry_http_codes", self.retry_http_codes)
        if response.status in codes and not request.meta.get("dont_retry", False):
            result = self._retry(request, response_status_message(response.status)) or response
        if isinstance(result, Request):
            await self.wait(result, response_status_message(response.status),
                            retry_after_seconds(response.headers.get("Retry-After")))
        return result

    async def process_exception(self, request, exception):
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self.wait(result, global_object_name(exception.__class__))
        return result

    def delay(self, retry_times: int, retry_after: float | None = None) -> float:
        backoff = self.base * 2 ** (retry_times - 1)
        return min(max(backoff, retry_after or 0.0), self.max)

    async def wait(self, retry: Request, reason: str,
                   retry_after: float | None = None) -> None:
        seconds = self.delay(retry.meta["retry_times"], retry_after)
        if retry_after is not None:
            self.crawler.stats.inc_value("newsmirror/retry/retry_after")
        logger.info("retry %d of %s in %.1f s (%s%s)", retry.meta["retry_times"],
                    retry.url, seconds, reason,
                    "" if retry_after is None else f", Retry-After {retry_after:g} s")
        await sleep(seconds)
