"""Site profiles: everything that is specific to one news site."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteProfile:
    name: str
    base_url: str
    channels: dict[str, str]  # channel id -> display name
    feed_path: str  # format string with {channel}
    article_url: re.Pattern  # group "id" is the article number
    body_css: str
    # Elements that are never part of the article (nor is anything hidden
    # with an inline style): by tag, by id or id prefix, and by tag and a
    # part of the class attribute.
    boilerplate_tags: frozenset[str]
    boilerplate_ids: frozenset[str]
    boilerplate_id_prefixes: tuple[str, ...]
    boilerplate_classes: tuple[tuple[str, str], ...]  # (tag, class part)
    # Block elements whose text contains one of these are boilerplate.
    boilerplate_text: tuple[str, ...]
    # A block with this text ends the article: it and all that follows go.
    end_marker_text: tuple[str, ...]
    source_label: re.Pattern  # the 来源 line, group "source"
    dateline: re.Pattern  # groups y, m, d
    tag_url: re.Pattern  # group "tag", URL-encoded
    timezone: str
