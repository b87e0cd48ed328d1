"""Tags: tag links and keywords, decoded, trimmed, de-duplicated, in order."""
from newsmirror.items import ArticleItem
from newsmirror.pipelines.tags import TagsPipeline, merge_tags, tags_from_links
from newsmirror.sites.secretchina import SECRETCHINA

BODY = ('<p><a href="https://www.secretchina.com/news/gb/tag/%E6%9A%B4%E9%9B%A8">暴雨</a>'
        '<a href="https://www.secretchina.com/news/gb/tag/%20%E5%81%9C%E7%94%B5%20%20">停电</a>'
        '<a href="https://www.secretchina.com/news/gb/2024/01/01/1.html">文章</a>'
        '<a href="https://www.secretchina.com/news/gb/tag/%E6%9A%B4%E9%9B%A8">暴雨</a></p>')


def test_tag_links_are_url_decoded_in_order():
    assert tags_from_links(BODY, SECRETCHINA.tag_url) == ["暴雨", " 停电  ", "暴雨"]


def test_merge_trims_and_deduplicates_in_first_order():
    assert merge_tags(["暴雨", " 停电  "], ["停电", "%E6%B4%AA%E6%B0%B4", ""]) == [
        "暴雨", "停电", "洪水"]


def test_pipeline_merges_links_and_keywords(crawler):
    item = ArticleItem(site="secretchina", id="1", url="u", channel="p1", title="t",
                       published="p", body_html=BODY, tags=["停电，洪水, 暴雨,救灾"])
    TagsPipeline.from_crawler(crawler).process_item(item)
    assert item.tags == ["暴雨", "停电", "洪水", "救灾"]
