"""Every path in the mirror tree, relative to MIRROR_DIR.

A Git host lists at most 1,000 entries in a folder (GitHub), so no folder
may grow with the mirror: pages go by site and day (a busy site publishes
a few hundred articles a day, two files each), tag pages into 256 folders
by a digest of the tag, images into 256 folders by a digest of their URL
(256,000 images, some three years of a busy site, before one folder
passes 1,000). A page keeps the path it was first written at (the
catalog remembers it), so links and QR codes in the wild keep working.
"""
from __future__ import annotations

import hashlib
import posixpath

from newsmirror.mirror.files import safe_name

HOME = "README.md"
FEED = "feed.json"
# Held by every crawl writing the tree (newsmirror/mirror/lock.py).
CRAWL_LOCK = ".newsmirror/crawl.lock"
# What is published to the Git hosts; the rest of MIRROR_DIR (the catalog
# in .newsmirror/, temp files) stays where it is.
PUBLISHED_FILES = (HOME, FEED)
PUBLISHED_DIRS = ("pages/", "indexes/", "tags/", "images/")


def page_path(site: str, article_id: str, published: str) -> str:
    """pages/<site>/<YYYY-MM>/<DD>/<id>.md, by the article's local date."""
    return f"pages/{site}/{published[:7]}/{published[8:10]}/{article_id}.md"


def page_dir(site: str, article_id: str, published: str) -> str:
    """The folder of the article's page: what its body's relative links
    start from."""
    return posixpath.dirname(page_path(site, article_id, published))


def qr_path(page: str) -> str:
    return f"{page}.png"


def index_path(site: str, channel: str) -> str:
    return f"indexes/{site}/{channel}.md"


def tag_page_path(tag: str) -> str:
    shard = hashlib.sha1(tag.encode()).hexdigest()[:2]
    return f"tags/{shard}/{safe_name(tag)}.md"


def image_path(url: str) -> str:
    """images/<2 hex>/<sha1 of the URL>.jpg: an image shown by several
    articles is stored once; every stored image is re-encoded as JPEG."""
    digest = hashlib.sha1(url.encode()).hexdigest()
    return f"images/{digest[:2]}/{digest}.jpg"
