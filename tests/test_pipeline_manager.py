"""Pipeline CPU timing: each pipeline's time lands in the crawl's stats."""
import asyncio

import pytest
from scrapy.exceptions import DropItem

from newsmirror.pipelines.manager import TimedItemPipelineManager

from tests.conftest import sample_page


class Busy:
    def __init__(self):
        self.opened = self.closed = False

    def open_spider(self):
        self.opened = True

    def close_spider(self):
        self.closed = True

    def process_item(self, item):
        item["seen"] = sum(range(10_000))
        return item


class Dropping:
    def process_item(self, item):
        raise DropItem("not wanted")


class Waiting:
    async def process_item(self, item):
        item["before"] = sum(range(10_000))
        await asyncio.sleep(0)
        if item.get("drop"):
            raise DropItem("dropped after waiting")
        item["after"] = True
        return item


def run(manager, item):
    async def crawl():
        await manager.open_spider_async()
        try:
            return await manager.process_item_async(item)
        finally:
            await manager.close_spider_async()
    return asyncio.run(crawl())


def test_each_pipeline_stage_adds_its_cpu_ms(crawler):
    busy = Busy()
    manager = TimedItemPipelineManager(busy, crawler=crawler)
    assert run(manager, {}) == {"seen": sum(range(10_000))}
    assert busy.opened and busy.closed
    stats = crawler.stats.get_stats()
    for key in ("newsmirror/cpu_ms/Busy", "newsmirror/cpu_ms/Busy/open_spider",
                "newsmirror/cpu_ms/Busy/close_spider"):
        assert stats[key] >= 0


def test_a_dropped_item_is_timed_and_still_dropped(crawler):
    manager = TimedItemPipelineManager(Busy(), Dropping(), crawler=crawler)
    with pytest.raises(DropItem):
        run(manager, {})
    stats = crawler.stats.get_stats()
    assert stats["newsmirror/cpu_ms/Busy"] >= 0
    assert stats["newsmirror/cpu_ms/Dropping"] >= 0
    assert "newsmirror/cpu_ms/Dropping/open_spider" not in stats


def test_a_coroutine_pipeline_is_timed_step_by_step(crawler):
    manager = TimedItemPipelineManager(Waiting(), Busy(), crawler=crawler)
    item = run(manager, {})
    assert item["after"] and item["seen"] == item["before"]
    assert crawler.stats.get_value("newsmirror/cpu_ms/Waiting") >= 0
    with pytest.raises(DropItem):
        run(manager, {"drop": True})


def test_a_crawl_times_every_project_pipeline(crawler, mirror_dir):
    assert crawler.settings["ITEM_PROCESSOR"].endswith("TimedItemPipelineManager")
    response = sample_page("news/gb/2024/05/06/1100001.html")
    item = crawler.spider.parse_article(response, "p1", "", "")
    run(TimedItemPipelineManager.from_crawler(crawler), item)
    assert (mirror_dir / "pages/secretchina/2024-05/06/1100001.md").is_file()
    stats = crawler.stats.get_stats()
    for name in ("CleanPipeline", "TagsPipeline", "MarkdownPagePipeline",
                 "QrImagePipeline", "IndexPipeline"):
        assert stats[f"newsmirror/cpu_ms/{name}"] >= 0
    assert stats["newsmirror/cpu_ms/IndexPipeline/close_spider"] >= 0
