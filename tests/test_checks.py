"""Start-up checks: a bad setting or spider argument stops `scrapy crawl`
at once with one line naming it, exit status 2, no traceback, no request
sent; a near-miss setting name gets a warning; a crawl whose every feed
failed exits non-zero."""
import inspect

import pytest
from scrapy.settings import Settings, default_settings

from newsmirror import checks
from newsmirror import settings as project_settings
from newsmirror.spiders.feed_article import FeedArticleSpider
from newsmirror.spiders.secretchina import SecretChinaSpider
from newsmirror.spiders.soundofhope import SoundOfHopeSpider
from tests.conftest import project_settings_dict, run_crawl


def test_every_project_setting_has_a_check():
    ours = {name for name in dir(project_settings) if name.isupper()
            and not hasattr(default_settings, name)}
    assert ours - set(checks.SETTINGS) == set()


def test_every_spider_argument_has_a_check():
    arguments = {name for name, p in inspect.signature(
        FeedArticleSpider.__init__).parameters.items()
        if p.kind is p.KEYWORD_ONLY}
    assert arguments == set(checks.ARGUMENTS)


def test_the_defaults_pass(tmp_path):
    settings = Settings(project_settings_dict(MIRROR_DIR=str(tmp_path / "m")))
    assert checks.setting_problems(settings) == []


def problems(tmp_path, **values) -> list[str]:
    settings = Settings(project_settings_dict(MIRROR_DIR=str(tmp_path / "m")))
    settings.setdict(values, priority="cmdline")
    return checks.setting_problems(settings)


@pytest.mark.parametrize("name, value", [
    ("MIRROR_ARTICLE_WINDOW", "-1"), ("MIRROR_INDEX_SIZE", "0"),
    ("MIRROR_WORKERS", "2.5"), ("MIRROR_CATALOG_BATCH", "many"),
    ("MIRROR_BASE_URL", "github.com/me/mirror"),
    ("SECRETCHINA_BASE_URL", "ftp://example.org"), ("SOUNDOFHOPE_BASE_URL", "soundofhope.org"),
    ("CONTACT_URL", "me"),
    ("MIRROR_TITLE", " "), ("REDIS_URL", "http://127.0.0.1:6379"),
    ("MIRROR_MENU", "notjson"), ("MIRROR_MENU", '["a"]'),
    ("MIRROR_FOOTER", '{"home": "../../etc/passwd"}'), ("MIRROR_FOOTER", '{"": "x"}'),
    ("RETRY_BACKOFF_MAX", "-1"), ("DOWNLOAD_DELAY", "soon"), ("DOWNLOAD_DELAY", "inf"),
    ("ROBOTSTXT_OBEY", "maybe"), ("SCRAPER_SLOT_MAX_ACTIVE_SIZE", "5MB"),
    ("CONCURRENT_ITEMS", "0"),
    ("AUTOTHROTTLE_TARGET_CONCURRENCY", "0"), ("PUBLISH_BRANCH", "../x"),
    ("PUBLISH_TIMEOUT", "0"), ("MIRROR_IMAGES_QUALITY", "100"),
    ("MIRROR_IMAGES_MAX_BYTES", "1e5"), ("MIRROR_IMAGES", "sometimes"),
])
def test_a_bad_value_is_one_problem_naming_it(tmp_path, name, value):
    found = problems(tmp_path, **{name: value})
    assert len(found) == 1
    assert found[0].startswith(f"bad setting {name}={value!r}: allowed: ")


@pytest.mark.parametrize("name, value", [
    ("MIRROR_ARTICLE_WINDOW", "0"), ("MIRROR_WORKERS", "0"), ("REDIS_URL", ""),
    ("MIRROR_BASE_URL", ""), ("MIRROR_TITLE", ""), ("MIRROR_TITLE", "我的镜像"),
    ("REDIS_URL", "redis://127.0.0.1:6379/0"), ("MIRROR_MENU", "{}"),
    ("MIRROR_MENU", '{"首页": "README.md", "源站": "https://example.org/"}'),
    ("ROBOTSTXT_OBEY", "False"), ("DOWNLOAD_DELAY", "0.5"),
    ("FEEDS", '{"items.jsonl": {"format": "jsonlines"}}'),
])
def test_a_good_value_passes(tmp_path, name, value):
    assert problems(tmp_path, **{name: value}) == []


def test_a_directory_that_cannot_be_written_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    found = problems(tmp_path, MIRROR_DIR=str(blocker / "mirror"), JOBDIR=str(blocker))
    assert [p.split("=")[0] for p in found] == ["bad setting MIRROR_DIR", "bad setting JOBDIR"]


def test_unknown_channels_are_refused():
    assert checks.argument_problems(SecretChinaSpider, {"channels": "p1,p9"}) == []
    assert checks.argument_problems(SoundOfHopeSpider, {"channels": "5,55"}) == []
    [problem] = checks.argument_problems(SoundOfHopeSpider, {"channels": "p1"})
    assert "comma-separated channels of the site: 5, 6, 7, 55, 3, 4, 59, 186" in problem
    [problem] = checks.argument_problems(SecretChinaSpider, {"channels": "p1,p99"})
    assert problem.startswith("bad spider argument channels='p1,p99': allowed: "
                              "comma-separated channels of the site: p1, p2,")
    assert "unknown: p99" in problem


def test_near_misses_are_warned_of():
    settings = Settings(project_settings_dict())
    settings.setdict({"CHANNELS": "p1", "MIRROR_WINDOW": "5", "SOMETHING_ELSE": "1",
                      "DOWNLOAD_DELAY": "0"}, priority="cmdline")
    warnings = checks.near_misses(settings, {"channel": "p1", "mirror_dir": "x",
                                             "_job": "123", "channels": "p1"})
    assert warnings == [
        "CHANNELS is not a setting but a spider argument: -a channels=... ; ignored",
        "unknown setting MIRROR_WINDOW, ignored: did you mean MIRROR_ARTICLE_WINDOW?",
        "unknown spider argument channel, ignored: did you mean channels?",
        "mirror_dir is not a spider argument but a setting: -s MIRROR_DIR=... ; ignored",
    ]


@pytest.mark.e2e
@pytest.mark.parametrize("args, named", [
    (["-s", "MIRROR_ARTICLE_WINDOW=-1"], "setting MIRROR_ARTICLE_WINDOW='-1'"),
    (["-s", "MIRROR_DIR=/proc/x"], "setting MIRROR_DIR='/proc/x'"),
    (["-s", "MIRROR_MENU=notjson"], "setting MIRROR_MENU='notjson'"),
    # Scrapy itself parses a dict setting's value: checked before it does.
    (["-s", "FEEDS=items.json"], "setting FEEDS='items.json'"),
    (["-a", "channels=p99", "-s", "MIRROR_WINDOW=3"], "spider argument channels='p99'"),
])
def test_crawl_stops_at_once_with_one_line(site_server, tmp_path, args, named):
    # run_crawl's own MIRROR_DIR comes first: a later -s wins.
    result = run_crawl(site_server.base_url, tmp_path / "mirror", *args, timeout=60)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines()
              if " ERROR: " in line or ": error: " in line]
    assert len(errors) == 1, result.stderr[-3000:]
    assert f"bad {named}: allowed: " in errors[0]
    assert "Traceback" not in result.stderr
    assert site_server.requests == []
    assert list(tmp_path.iterdir()) == []  # not even the mirror directory
    if "MIRROR_WINDOW=3" in args:
        assert "did you mean MIRROR_ARTICLE_WINDOW?" in result.stderr


@pytest.mark.e2e
def test_a_crawl_whose_every_feed_failed_exits_non_zero(site_server, tmp_path):
    for channel in SecretChinaSpider.site.channels:
        site_server.routes[f"/news/gb/{channel}.xml"] = lambda path: (
            404, {"Content-Type": "text/plain"}, b"gone")
    result = run_crawl(site_server.base_url, tmp_path / "mirror", timeout=60)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "every feed failed (9): nothing could be mirrored" in result.stderr
    # One feed read is enough for a run to count.
    del site_server.routes["/news/gb/p1.xml"]
    result = run_crawl(site_server.base_url, tmp_path / "mirror", timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "every feed failed" not in result.stderr
