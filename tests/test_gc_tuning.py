"""GC tuning: start-up objects frozen and a larger first-generation
threshold while the spider runs, everything as it was after."""
import gc

from newsmirror.extensions.gc_tuning import GEN0_THRESHOLD, GcTuning


def test_frozen_while_the_spider_runs_and_restored_after():
    before = gc.get_threshold()
    extension = GcTuning()
    extension.spider_opened()
    try:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GEN0_THRESHOLD, *before[1:])
    finally:
        extension.spider_closed()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_enabled_in_the_project_settings(crawler):
    assert crawler.settings.getdict("EXTENSIONS")[
        "newsmirror.extensions.gc_tuning.GcTuning"] == 500
