"""The REDIS_URL switch: scrapy-redis when set, Scrapy's own scheduler when not."""
import subprocess
import sys

from scrapy.settings import Settings

from newsmirror import settings as project_settings
from newsmirror.distributed.addon import Distributed
from tests.conftest import ROOT


def applied(**overrides) -> Settings:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    settings.setdict(overrides, priority="cmdline")
    Distributed().update_settings(settings)
    return settings


def test_without_redis_url_the_scheduler_is_scrapys():
    settings = applied()
    assert settings["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"
    assert settings["DUPEFILTER_CLASS"] == "scrapy.dupefilters.RFPDupeFilter"
    assert "newsmirror.distributed.addon.Distributed" in settings.getdict("ADDONS")


def test_with_redis_url_the_queue_and_seen_requests_are_shared_and_kept():
    settings = applied(REDIS_URL="redis://127.0.0.1:6379/0")
    assert settings["SCHEDULER"] == "newsmirror.distributed.scheduler.LeasedScheduler"
    assert settings["SCHEDULER_QUEUE_CLASS"] == "newsmirror.distributed.scheduler.HeldPriorityQueue"
    assert settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert settings.getbool("SCHEDULER_PERSIST")
    # Every article request in the shared queue, none waiting in one worker.
    assert settings.getint("MIRROR_ARTICLE_WINDOW") == 0
    # A worker's finished articles are in the catalog before it lets go.
    assert settings.getint("MIRROR_CATALOG_BATCH") == 1


def test_without_redis_url_redis_is_never_imported():
    code = ("import sys; from scrapy.settings import Settings; "
            "from scrapy.utils.misc import load_object; "
            "from newsmirror import settings; "
            "from newsmirror.distributed.addon import Distributed; "
            "s = Settings(); s.setmodule(settings); Distributed().update_settings(s); "
            "[load_object(p) for p in [s['SCHEDULER'], s['DUPEFILTER_CLASS'], "
            "*s.getdict('ITEM_PIPELINES'), *s.getdict('EXTENSIONS')]]; "
            "load_object('newsmirror.spiders.secretchina.SecretChinaSpider'); "
            "print(sorted(m for m in sys.modules if 'redis' in m))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "[]"
