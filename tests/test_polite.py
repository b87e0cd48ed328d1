"""Polite by default: robots.txt, AutoThrottle, a delay, little concurrency,
no cache, a size limit, and a User-Agent that says who we are."""
from scrapy import Request
from scrapy.downloadermiddlewares.useragent import UserAgentMiddleware

URL = "https://www.secretchina.com/news/gb/p1.xml"


def user_agent(crawler) -> bytes:
    request = Request(URL)
    UserAgentMiddleware.from_crawler(crawler).process_request(request)
    return request.headers["User-Agent"]


def test_defaults_are_polite(crawler):
    s = crawler.settings
    assert s.getbool("ROBOTSTXT_OBEY") and s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert s.getfloat("DOWNLOAD_DELAY") >= 1
    assert not s.getbool("HTTPCACHE_ENABLED")
    assert 0 < s.getint("DOWNLOAD_MAXSIZE") <= 16 * 1024 * 1024
    assert 0 < s.getint("REDIRECT_MAX_TIMES") <= 5


def test_user_agent_names_the_contact_url(make_crawler):
    crawler = make_crawler(CONTACT_URL="https://example.org/our-mirror")
    assert user_agent(crawler).startswith(b"newsmirror/")
    assert user_agent(crawler).endswith(b" (+https://example.org/our-mirror)")


def test_an_explicit_user_agent_wins(make_crawler):
    crawler = make_crawler(CONTACT_URL="https://example.org/x", USER_AGENT="mine/2")
    assert user_agent(crawler) == b"mine/2"
