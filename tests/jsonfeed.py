"""JSON Feed 1.1 field rules (https://www.jsonfeed.org/version/1.1/), checked."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

VERSION = "https://jsonfeed.org/version/1.1"
FEED_KEYS = {"version", "title", "home_page_url", "feed_url", "description",
             "user_comment", "next_url", "icon", "favicon", "authors",
             "language", "expired", "hubs", "items"}
ITEM_KEYS = {"id", "url", "external_url", "title", "content_html",
             "content_text", "summary", "image", "banner_image",
             "date_published", "date_modified", "authors", "tags", "language",
             "attachments"}
URL_KEYS = {"home_page_url", "feed_url", "next_url", "icon", "favicon", "url",
            "external_url", "image", "banner_image"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")  # RFC 5646


def _is_url(value) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def _check_fields(obj: dict, allowed: set[str], where: str) -> list[str]:
    errors = [f"{where}: unknown key {k!r}" for k in obj
              if k not in allowed and not k.startswith("_")]
    for key in URL_KEYS & obj.keys():
        if not _is_url(obj[key]):
            errors.append(f"{where}: {key} is not an absolute URL: {obj[key]!r}")
    if "language" in obj and not LANGUAGE.match(str(obj["language"])):
        errors.append(f"{where}: language is not an RFC 5646 tag: {obj['language']!r}")
    return errors


def json_feed_errors(feed: dict) -> list[str]:
    """Every broken JSON Feed 1.1 rule in feed; empty when it is valid."""
    errors = _check_fields(feed, FEED_KEYS, "feed")
    if feed.get("version") != VERSION:
        errors.append(f"feed: version is not {VERSION}")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        errors.append("feed: title must be a non-empty string")
    if not isinstance(feed.get("items"), list):
        return errors + ["feed: items must be an array"]
    ids = [item.get("id") for item in feed["items"]]
    if len(set(map(str, ids))) != len(ids):
        errors.append("feed: item ids are not unique")
    for n, item in enumerate(feed["items"]):
        where = f"items[{n}]"
        errors += _check_fields(item, ITEM_KEYS, where)
        if not isinstance(item.get("id"), str) or not item["id"]:
            errors.append(f"{where}: id must be a non-empty string")
        if not any(isinstance(item.get(k), str) and item[k]
                   for k in ("content_html", "content_text")):
            errors.append(f"{where}: needs content_html or content_text")
        for key in ("title", "content_html", "content_text", "summary"):
            if key in item and not isinstance(item[key], str):
                errors.append(f"{where}: {key} must be a string")
        for key in ("date_published", "date_modified"):
            if key in item and not RFC3339.match(str(item[key])):
                errors.append(f"{where}: {key} is not RFC 3339: {item[key]!r}")
        tags = item.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            errors.append(f"{where}: tags must be an array of strings")
    return errors
