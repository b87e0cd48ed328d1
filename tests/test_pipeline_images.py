"""Images: stored once in the mirror within the caps, linked from the page;
a failed one leaves the page on the original URL until a later run has it."""
from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from newsmirror.mirror.catalog import Catalog
from newsmirror.mirror.layout import image_path
from newsmirror.pipelines.images import (ImageCaps, ImageRejected,
                                         MirrorImagesPipeline, reencode)
from newsmirror.sample.server import SiteServer
from tests.conftest import run_crawl
from tests.mirror_checks import crawl_stats, md, page_of

CAPS = ImageCaps(max_side=1280, quality=75, max_bytes=300 * 1024, max_pixels=50_000_000)
REAL = "https://www.secretchina.com"


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def gradient(size: tuple[int, int]) -> Image.Image:
    """A large picture that is quick to make."""
    return Image.linear_gradient("L").resize(size).convert("RGB")


def noise(size: tuple[int, int]) -> Image.Image:
    """Pixels that compress badly, as a photo's do."""
    return Image.merge("RGB", [Image.effect_noise(size, 60).convert("L")] * 2
                       + [Image.linear_gradient("L").resize(size)])


def photo_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x8825] = {2: (1.0, 2.0, 3.0)}  # GPS
    return encoded(noise((600, 400)), "JPEG", exif=exif.tobytes())


def png_claiming(width: int, height: int) -> bytes:
    """A one-pixel PNG whose header claims width x height (a bomb's
    header: what the pipeline reads before decoding)."""
    data = bytearray(encoded(Image.new("L", (1, 1)), "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(data[ihdr:ihdr + 17]))
    return bytes(data)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (80, 60), color) for color in ("red", "green", "blue")]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:],
                   duration=100, loop=0)


def stored(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# reencode(): the caps, one rule each.

def test_a_large_original_is_scaled_to_the_longest_side():
    jpeg, animated = reencode(encoded(gradient((3000, 2000)), "PNG"), CAPS)
    image = stored(jpeg)
    assert image.format == "JPEG" and image.size == (1280, 853) and not animated
    assert len(jpeg) <= CAPS.max_bytes


def test_exif_is_stripped():
    assert Image.open(io.BytesIO(photo_with_exif())).getexif()
    image = stored(reencode(photo_with_exif(), CAPS)[0])
    assert not image.getexif() and "exif" not in image.info


def test_an_image_over_the_byte_cap_is_made_smaller_until_it_fits():
    caps = ImageCaps(max_side=1280, quality=95, max_bytes=20_000, max_pixels=10**8)
    original = encoded(noise((700, 500)), "PNG")
    assert len(reencode(original, CAPS)[0]) > caps.max_bytes
    jpeg, _ = reencode(original, caps)
    assert len(jpeg) <= caps.max_bytes and stored(jpeg).format == "JPEG"


def test_an_animated_gif_becomes_its_first_frame():
    jpeg, animated = reencode(animated_gif(), CAPS)
    image = stored(jpeg)
    assert animated and image.format == "JPEG" and image.size == (80, 60)
    red, green, blue = image.getpixel((40, 30))
    assert red > 200 and green < 50 and blue < 50


def test_transparency_is_flattened_on_white():
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    image = stored(reencode(encoded(rgba, "PNG"), CAPS)[0])
    assert image.mode == "RGB" and min(image.getpixel((20, 20))) > 240


@pytest.mark.parametrize("data, reason", [
    (png_claiming(10_000, 6_000), "bomb"),  # over MIRROR_IMAGES_MAX_PIXELS
    (png_claiming(20_000, 20_000), "bomb"),  # over pillow's own limit too
    (b"<html><body>not found</body></html>", "not_image"),
    (encoded(noise((300, 200)), "JPEG")[:2000], "broken"),  # cut short
])
def test_what_is_not_a_sane_image_is_refused(data, reason):
    with pytest.raises(ImageRejected, match=f"^{reason}$"):
        reencode(data, CAPS)


def test_switched_off_the_pipeline_is_not_enabled(make_crawler):
    from scrapy.exceptions import NotConfigured
    with pytest.raises(NotConfigured):
        MirrorImagesPipeline.from_crawler(make_crawler(MIRROR_IMAGES=False))


# Whole crawls: a site whose article pages show images of every kind.

ARTICLE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{title}</title>
<meta property="article:published_time" content="2024-05-0{day}T08:00:00-04:00">
</head><body><h1>{title}</h1><div class="article_right">
<p>文章{id}的正文。</p>
{images}
</div></body></html>
"""
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>p1</title>
{items}
</channel></rss>
"""


class ImageSite:
    """Articles (id -> image names) on a SiteServer; each image answered
    by a route that can be changed between crawls."""

    def __init__(self, root: Path, articles: dict[str, list[str]]):
        self.articles = articles
        (root / "news/gb").mkdir(parents=True)
        (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
        items = []
        for day, (article_id, names) in enumerate(articles.items(), start=1):
            url = f"{REAL}/news/gb/2024/05/0{day}/{article_id}.html"
            items.append(f"<item><title>文章{article_id}</title><link>{url}</link></item>")
            page = root / url.removeprefix(f"{REAL}/")
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(ARTICLE.format(
                title=f"文章{article_id}", id=article_id, day=day, images="\n".join(
                    f'<p><img src="{REAL}/img/{name}" alt="图"><br>图说{name}</p>'
                    for name in names)), "utf-8")
        (root / "news/gb/p1.xml").write_text(FEED.format(items="\n".join(items)), "utf-8")
        self.bodies: dict[str, bytes | None] = {}
        self.missing_for: dict[str, int] = {}  # name -> 404s before its body
        self.server = SiteServer(root, routes={
            f"/img/{name}": self.image for names in articles.values() for name in names})

    def image(self, path: str):
        name = path.removeprefix("/img/")
        body = self.bodies[name]
        if self.missing_for.get(name):
            self.missing_for[name] -= 1
            body = None
        if body is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return 200, {"Content-Type": "image/jpeg"}, body

    def url(self, name: str) -> str:
        return f"{self.server.base_url}/img/{name}"

    def crawl(self, mirror: Path, **settings) -> dict[str, int]:
        self.server.requests.clear()
        result = run_crawl(self.server.base_url, mirror, "-a", "channels=p1",
                           **{"RETRY_BACKOFF_BASE": "0.05", **settings})
        assert result.returncode == 0, result.stderr[-3000:]
        # Each failed image is one line, not an error with its traceback.
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        return crawl_stats(result.stderr)

    def fetched(self, prefix: str) -> list[str]:
        return sorted(p for p in self.server.requests if p.startswith(prefix))


def page_images(mirror: Path, article_id: str) -> list[str]:
    """The image sources the article's page shows, as rendered."""
    page = page_of(mirror, article_id)
    tokens = md.parse(page.read_text("utf-8"))
    return [c.attrs["src"] for t in tokens for c in t.children or [] if c.type == "image"
            and not c.attrs["src"].endswith(".md.png")]


def resolves_to(mirror: Path, article_id: str, src: str) -> str:
    target = (page_of(mirror, article_id).parent / src).resolve()
    return target.relative_to(mirror.resolve()).as_posix()


@functools.cache
def image_bodies() -> dict[str, bytes | None]:
    bodies = {
        "photo.jpg": photo_with_exif(),
        "shared.jpg": encoded(noise((500, 300)), "JPEG"),
        "huge.png": encoded(gradient((3000, 2000)), "PNG"),
        "gone.jpg": None,
        "page.jpg": b"<html><body>an error page</body></html>",
        "bomb.png": png_claiming(20_000, 20_000),
        "anim.gif": animated_gif(),
    }
    # Over the download cap the crawls set: cut off, never stored.
    bodies["heavy.jpg"] = bytes(max(len(b) for b in bodies.values() if b) + 2)
    return bodies


@pytest.fixture
def site(tmp_path):
    site = ImageSite(tmp_path / "site", {
        "101": ["photo.jpg", "shared.jpg"],
        "102": ["shared.jpg", "huge.png"],  # the same image as 101's
        "103": ["gone.jpg", "page.jpg", "bomb.png", "heavy.jpg"],
        "104": ["anim.gif"],
    })
    site.bodies.update(image_bodies())
    site.max_download = len(site.bodies["heavy.jpg"]) - 1
    with site.server:
        yield site


def test_images_are_stored_once_within_the_caps_and_linked(site, tmp_path):
    mirror = tmp_path / "mirror"
    stats = site.crawl(mirror, MIRROR_IMAGES_MAX_DOWNLOAD=site.max_download)
    # Every image fetched once, the shared one too; the missing one is
    # retried like a fault (RETRY_TIMES, 3).
    assert site.fetched("/img/") == sorted(f"/img/{n}" for n in site.bodies
                                           for _ in range(4 if n == "gone.jpg" else 1))
    for article_id, names in site.articles.items():
        srcs = page_images(mirror, article_id)
        assert len(srcs) == len(names)
        for name, src in zip(names, srcs):
            if article_id == "103":  # every one of them fails
                assert src == site.url(name)
                continue
            assert resolves_to(mirror, article_id, src) == image_path(site.url(name))
            image = Image.open(mirror / image_path(site.url(name)))
            image.load()
            assert image.format == "JPEG" and max(image.size) <= 1280
            assert not image.getexif()
            assert (mirror / image_path(site.url(name))).stat().st_size <= 300 * 1024
    assert sorted(p.relative_to(mirror).as_posix() for p in mirror.glob("images/*/*")) \
        == sorted(image_path(site.url(n)) for n in ("photo.jpg", "shared.jpg", "huge.png",
                                                   "anim.gif"))
    assert stats["newsmirror/images/stored"] == 4
    assert stats["newsmirror/images/animation_kept_as_still"] == 1
    for reason in ("http_404", "not_image", "bomb", "too_large"):
        assert stats[f"newsmirror/images/failed/{reason}"] == 1, reason
    # The article with missing images is in the mirror, and noted so.
    catalog = Catalog(mirror)
    assert [i in catalog.mirrored("secretchina", [i]) for i in site.articles] == [True, True, False, True]
    catalog.close()

    # A rerun fetches only that article again, and only its missing images.
    site.crawl(mirror, MIRROR_IMAGES_MAX_DOWNLOAD=site.max_download)
    assert site.fetched("/news/gb/2024") == ["/news/gb/2024/05/03/103.html"]
    assert site.fetched("/img/") == ["/img/bomb.png", *["/img/gone.jpg"] * 4,
                                     "/img/heavy.jpg", "/img/page.jpg"]


def test_a_failed_image_is_fetched_by_a_later_run_and_the_page_rewritten(site, tmp_path):
    mirror = tmp_path / "mirror"
    site.crawl(mirror, MIRROR_IMAGES_MAX_DOWNLOAD=site.max_download)
    assert page_images(mirror, "103")[0] == site.url("gone.jpg")
    site.bodies.update({name: encoded(noise((200, 100)), "JPEG")
                        for name in ("gone.jpg", "page.jpg", "bomb.png", "heavy.jpg")})
    stats = site.crawl(mirror)
    assert stats["newsmirror/pages_written"] == 1
    srcs = page_images(mirror, "103")
    assert [resolves_to(mirror, "103", s) for s in srcs] == [
        image_path(site.url(n)) for n in site.articles["103"]]
    catalog = Catalog(mirror)
    assert "103" in catalog.mirrored("secretchina", ["103"])
    catalog.close()
    # Complete now: the next run fetches no article and no image.
    site.crawl(mirror)
    assert site.fetched("/news/gb/2024") == [] and site.fetched("/img/") == []


def test_switched_off_pages_link_the_images_at_their_site(site, tmp_path):
    mirror = tmp_path / "mirror"
    site.crawl(mirror, MIRROR_IMAGES=False)
    assert site.fetched("/img/") == []
    assert page_images(mirror, "101") == [site.url("photo.jpg"), site.url("shared.jpg")]
    assert not (mirror / "images").exists()


def test_an_image_url_that_cannot_be_requested_stays_and_is_not_missing(make_crawler):
    from newsmirror.items import ArticleItem
    crawler = make_crawler()
    pipeline = MirrorImagesPipeline.from_crawler(crawler)
    body = '<p><img src="http://[::1/x.jpg" alt="图"></p>'
    item = ArticleItem(id="1", site="secretchina", url="u", channel="p1", title="t",
                       published="2024-05-06T08:00:00-04:00", body_html=body,
                       images=[{"src": "http://[::1/x.jpg", "caption": "图"}])
    assert pipeline.get_media_requests(item, None) == []
    pipeline.item_completed([], item, None)
    # Never valid, so never fetched again: the article is complete as it is.
    assert item.body_html == body and item.images_missing == 0
    assert crawler.stats.get_value("newsmirror/images/failed/bad_url") == 1


def test_an_image_gone_for_good_stops_costing_its_article_after_the_retries(site, tmp_path):
    mirror = tmp_path / "mirror"
    site.crawl(mirror, MIRROR_IMAGES_RETRIES=1, MIRROR_IMAGES_MAX_DOWNLOAD=site.max_download)
    # One later run fetches the article with failed images again ...
    site.crawl(mirror, MIRROR_IMAGES_RETRIES=1, MIRROR_IMAGES_MAX_DOWNLOAD=site.max_download)
    assert site.fetched("/news/gb/2024") == ["/news/gb/2024/05/03/103.html"]
    # ... then its page keeps the images' original URLs.
    site.crawl(mirror, MIRROR_IMAGES_RETRIES=1, MIRROR_IMAGES_MAX_DOWNLOAD=site.max_download)
    assert site.fetched("/news/gb/2024") == [] and site.fetched("/img/") == []
    assert page_images(mirror, "103")[0] == site.url("gone.jpg")


def test_an_image_missing_for_a_moment_is_retried_within_the_run(site, tmp_path):
    mirror = tmp_path / "mirror"
    site.missing_for["photo.jpg"] = 2  # e.g. not on the CDN's edge yet
    stats = site.crawl(mirror, MIRROR_IMAGES_MAX_DOWNLOAD=site.max_download)
    assert site.fetched("/img/photo.jpg") == ["/img/photo.jpg"] * 3
    assert resolves_to(mirror, "101", page_images(mirror, "101")[0]) \
        == image_path(site.url("photo.jpg"))
    assert "newsmirror/images/failed/http_404" in stats  # gone.jpg's, for good
    catalog = Catalog(mirror)
    assert "101" in catalog.mirrored("secretchina", ["101"])
    catalog.close()
