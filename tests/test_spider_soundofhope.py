"""soundofhope.org: its profile on the shared spider, on the bundled sample
(newsmirror/sample/soundofhope: pages written for the project after the
site's markup), from feed to cleaned article and a whole crawl."""
import asyncio
import re
from pathlib import Path

import lxml.html
import pytest
from scrapy.http import HtmlResponse, Request, XmlResponse

from newsmirror.mirror.catalog import Catalog
from newsmirror.pipelines.clean import clean_article
from newsmirror.pipelines.tags import TagsPipeline
from newsmirror.sample.server import sample_site
from newsmirror.sites import profile, profiles
from newsmirror.spiders.soundofhope import SoundOfHopeSpider
from tests.conftest import CRAWL_SETTINGS, run_crawl
from tests.mirror_checks import check_page, snapshot

BASE = "https://www.soundofhope.org"
SAMPLE = Path(str(sample_site("soundofhope")))
SITE = profile("soundofhope")


def sample(relpath: str):
    url = f"{BASE}/{relpath}"
    cls = XmlResponse if relpath.startswith("rss/") else HtmlResponse
    return cls(url=url, body=(SAMPLE / relpath).read_bytes(), request=Request(url))


@pytest.fixture
def spider(make_crawler):
    crawler = make_crawler(SoundOfHopeSpider)
    return crawler.spider


def started(spider):
    async def collect():
        return [r async for r in spider.start()]
    return asyncio.run(collect())


def article(spider, post_id: str, channel: str = "5"):
    return spider.parse_article(sample(f"post/{post_id}"), channel=channel,
                                feed_title="", feed_date="")


def test_every_source_has_a_profile_and_spider():
    assert list(profiles()) == ["secretchina", "soundofhope"]
    assert SoundOfHopeSpider.site is SITE


def test_start_reads_each_channel_feed_or_those_given(spider, make_crawler):
    assert [r.url for r in started(spider)] == [
        f"{BASE}/rss/{n}" for n in (5, 6, 7, 55, 3, 4, 59, 186)]
    crawler = make_crawler(SoundOfHopeSpider)
    some = SoundOfHopeSpider.from_crawler(crawler, channels="55,3")
    assert [r.url for r in started(some)] == [f"{BASE}/rss/55", f"{BASE}/rss/3"]


def test_base_url_setting_moves_the_site(make_crawler):
    crawler = make_crawler(SoundOfHopeSpider, SOUNDOFHOPE_BASE_URL="http://127.0.0.1:9/")
    assert [r.url for r in started(crawler.spider)][0] == "http://127.0.0.1:9/rss/5"


def test_an_article_in_two_feeds_is_fetched_once_and_listed_in_both(spider, mirror_dir):
    started(spider)
    first = list(spider.parse_feed(sample("rss/5"), channel="5"))
    second = list(spider.parse_feed(sample("rss/55"), channel="55"))
    assert [r.url for r in first] == [f"{BASE}/post/900001"]
    assert [r.url for r in second] == [f"{BASE}/post/900002"]
    spider.closed("finished")
    catalog = Catalog(mirror_dir)
    rows = catalog.conn.execute(
        "SELECT channel, id FROM article_channels ORDER BY channel, id").fetchall()
    catalog.close()
    assert [(r["channel"], r["id"]) for r in rows] == [
        ("5", "900001"), ("55", "900001"), ("55", "900002")]


def test_article_fields(spider):
    item = article(spider, "900001", channel="5")
    assert item.site == "soundofhope" and item.id == "900001"
    assert item.url == f"{BASE}/post/900001"
    assert item.title == "台风过境后的渔港：渔民清点损失"
    # Its own channel (the breadcrumb), whichever feed listed it first.
    assert item.channel == "55"
    assert item.published == "2024-05-14T18:20:00-07:00"
    assert item.source == "希望之声港台组"
    # Keywords repeat the body's tag links: not taken.
    assert item.tags == []
    # The lead figure, above the body on the site, opens the body.
    assert item.body_html.startswith('<figure class="feature-image">')
    assert item.lead_image == "https://img.soundofhope.org/2024-05/harbour-lead.jpg"


def test_date_from_the_dateline_in_the_sites_zone(spider):
    assert article(spider, "900003", channel="3").published == "2024-05-16T00:00:00-07:00"


def cleaned(spider, post_id):
    item = article(spider, post_id)
    body, images, _ = clean_article(item.body_html, SITE, item.url)
    return body, images


def test_boilerplate_goes_article_stays(spider):
    body, images = cleaned(spider, "900001")
    text = lxml.html.fromstring(body).text_content()
    for gone in ("AD_Embed", "iframely", "meta-btm", "文章来源", "责任编辑", "转载请注明"):
        assert gone not in body
    for kept in ("【希望之声2024年5月14日】", "缆绳断了三根", "防波堤有两处", "赶在休渔期前"):
        assert kept in text
    assert images == [
        {"src": "https://img.soundofhope.org/2024-05/harbour-lead.jpg",
         "caption": "台风过后，渔船挤在避风塘里（示意图）"},
        {"src": "https://img.soundofhope.org/2024-05/harbour-nets.jpg",
         "caption": "渔民在码头上修补被风扯破的渔网（本台图片）"}]


def test_traditional_body_audio_player_and_word_anchors(spider):
    body, _ = cleaned(spider, "900002")
    # Kept as published, in Traditional characters.
    assert "【希望之聲2024年5月15日】" in body and "店主打算每月辦一次讀書會" in body
    for gone in ("128kbps", ".mp3", "svg", "canvas", "_Toc", "責任編輯", "版權所有"):
        assert gone not in body
    assert "<h2>街坊的書架</h2>" in body.replace(" ", "")


def test_tags_are_the_bodys_term_links(spider, crawler):
    item = article(spider, "900001")
    item.body_html, item.images, _ = clean_article(item.body_html, SITE, item.url)
    TagsPipeline.from_crawler(crawler).process_item(item)
    assert item.tags == ["海燕", "渔港", "渔民"]


@pytest.mark.e2e
def test_crawl_mirrors_the_sample_and_a_rerun_fetches_no_article(soundofhope_server,
                                                                 tmp_path):
    mirror = tmp_path / "mirror"
    result = run_crawl(soundofhope_server.base_url, mirror, "-a", "channels=5,55,3",
                       spider="soundofhope")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mirror summary: 3 articles mirrored (3 pages new or changed)" in result.stderr
    pages = {p.stem: p for p in mirror.glob("pages/soundofhope/**/*.md")}
    assert sorted(pages) == ["900001", "900002", "900003"]
    for page in pages.values():
        check_page(page, CRAWL_SETTINGS["MIRROR_BASE_URL"], mirror)
    assert soundofhope_server.requests.count("/post/900001") == 1
    for channel in ("5", "55"):
        index = (mirror / f"indexes/soundofhope/{channel}.md").read_text("utf-8")
        assert index.count("900001.md)") == 1, channel
    page = pages["900001"].read_text("utf-8")
    assert "来源：希望之声港台组" in page and "标签：[海燕]" in page
    # Both images (protocol-relative on the site) are the mirror's copies.
    images = re.findall(r"!\[[^]]+\]\((\.\./[^)]+)\)", page)
    assert len(images) == 2 and all(i.startswith("../../../../images/") for i in images)
    assert all((pages["900001"].parent / i).resolve().is_file() for i in images)

    before = snapshot(mirror)
    soundofhope_server.requests.clear()
    again = run_crawl(soundofhope_server.base_url, mirror, "-a", "channels=5,55,3",
                      spider="soundofhope")
    assert again.returncode == 0, again.stderr[-3000:]
    assert [p for p in soundofhope_server.requests if p.startswith("/post/")] == []
    assert snapshot(mirror) == before
