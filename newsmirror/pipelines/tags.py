"""Tags: the article's tag links and the keywords the spider found, merged."""
from __future__ import annotations

import re
from urllib.parse import unquote

from itemadapter import ItemAdapter

from newsmirror.mirror import body
from newsmirror.sites import profile

KEYWORD_SEPARATORS = re.compile(r"[,，]")


def link_tag(match: re.Match, text: str) -> str:
    """The tag a tag link names: in its URL (group "tag") or, for a site
    whose tag URLs hold a number, by the link's text."""
    return unquote(match.group("tag")) if "tag" in match.re.groupindex else text


def tags_from_links(body_html: str, tag_url: re.Pattern) -> list[str]:
    """The tags the body links to (link_tag)."""
    if "<a" not in body_html:
        return []
    root = body.parse(body_html)
    found = []
    for a in root.iter("a"):
        m = tag_url.search(a.get("href") or "")
        if m:
            found.append(link_tag(m, a.text_content()))
    return found


def merge_tags(*groups: list[str]) -> list[str]:
    """Trimmed, de-duplicated, in order of first appearance."""
    seen: dict[str, None] = {}
    for group in groups:
        for tag in group:
            tag = " ".join(unquote(tag).split())
            if tag:
                seen.setdefault(tag, None)
    return list(seen)


class TagsPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        adapter = ItemAdapter(item)
        site = profile(adapter["site"])
        keywords = []
        for kw in adapter.get("tags") or []:
            keywords.extend(KEYWORD_SEPARATORS.split(kw))
        adapter["tags"] = merge_tags(
            tags_from_links(adapter["body_html"], site.tag_url), keywords)
        return item
