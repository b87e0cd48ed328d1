"""feed.json: JSON Feed 1.1 of the newest articles, by its field rules."""
import json

from tests.jsonfeed import json_feed_errors
from tests.test_pipeline_index import article, run


def test_feed_is_json_feed_1_1_of_the_newest_articles(make_crawler, mirror_dir):
    odd = article(3, tags=("C# & AI", "a/b"), day=3)
    odd.language = ""
    run(make_crawler(MIRROR_FEED_SIZE=2), article(1, day=1), article(2, day=2), odd)
    feed = json.loads((mirror_dir / "feed.json").read_text("utf-8"))
    assert json_feed_errors(feed) == []
    assert [i["title"] for i in feed["items"]] == ["文章 3", "文章 2"]
    first = feed["items"][0]
    assert first["url"] == first["id"] == "https://example.org/m/pages/secretchina/2024-05/03/3.md"
    assert first["external_url"] == odd.url and first["content_html"] == odd.body_html
    assert first["date_published"] == "2024-05-03T08:00:00-04:00"
    assert first["tags"] == ["C# & AI", "a/b"] and "language" not in first
    assert feed["items"][1]["language"] == "zh-CN"


def test_json_feed_rules_catch_a_broken_feed():
    assert json_feed_errors({"version": "1", "items": [
        {"id": 1, "url": "pages/1.md", "date_published": "2024-05-03 08:00",
         "tags": "x", "language": "Chinese", "colour": "red"}]}) != []
    broken = json_feed_errors({"version": "https://jsonfeed.org/version/1.1", "title": "t",
                               "items": [{"id": "a", "content_html": "<p>x</p>",
                                          "date_published": "2024-05-03T08:00"}]})
    assert broken == ["items[0]: date_published is not RFC 3339: '2024-05-03T08:00'"]


def test_without_a_base_url_items_are_known_by_the_original_url(make_crawler, mirror_dir):
    it = article(1)
    it.public_url = ""
    run(make_crawler(MIRROR_BASE_URL=""), it)
    feed = json.loads((mirror_dir / "feed.json").read_text("utf-8"))
    assert json_feed_errors(feed) == []
    assert "home_page_url" not in feed and "feed_url" not in feed
    assert feed["items"][0]["id"] == it.url and "url" not in feed["items"][0]
