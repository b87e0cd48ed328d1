"""Site profiles: everything that is specific to one news site.

A source is one module here holding its SiteProfile (selectors, patterns,
boilerplate rules, channel names) and a spider of a few lines naming it
(newsmirror/spiders/<source>.py). Items carry their site's name; the
pipelines look the profile up with profile(name).
"""
from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteProfile:
    name: str
    title: str  # the site's own name, for the home page and indexes
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
    source_label: re.Pattern  # the source line, group "source"
    dateline: re.Pattern  # groups y, m, d
    # Tag links in the body: the tag is group "tag" (URL-encoded) if the
    # pattern has one, else the link's text.
    tag_url: re.Pattern
    timezone: str
    # The lead figure where the site puts it outside the body (it goes
    # before the body); "" if the body holds its own.
    lead_figure_css: str = ""
    # Whether <meta name="keywords"> are tags; else only the body's links.
    keywords_are_tags: bool = True
    # The article's own channel on its page (hrefs, group "channel"), so
    # an article in several feeds gets one page whichever feed came first;
    # "" to take the channel of the feed that listed it.
    section_css: str = ""
    section_url: re.Pattern | None = None


@functools.cache
def profiles() -> dict[str, SiteProfile]:
    """Every site's profile, by name: each module of this package holds one."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        for value in vars(importlib.import_module(f"{__name__}.{module.name}")).values():
            if isinstance(value, SiteProfile):
                found[value.name] = value
    return dict(sorted(found.items()))


def profile(name: str) -> SiteProfile:
    return profiles()[name]
