"""The article schema shared by the spiders and the pipelines."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ArticleItem:
    # Filled by the spider.
    site: str  # its SiteProfile's name: the pipelines apply that site's rules
    id: str  # unique within the site
    url: str
    channel: str
    title: str
    published: str  # ISO 8601 with offset
    body_html: str
    source: str = ""
    lead_image: str = ""
    # {"src", "caption"}, and "path" in the mirror once it is stored there
    images: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    language: str = ""
    # Filled by the pipelines.
    body_markdown: str = ""
    public_url: str = ""
    page_path: str = ""  # relative to MIRROR_DIR
    qr_path: str = ""  # relative to MIRROR_DIR
    images_missing: int = 0  # images the page still links at their site
