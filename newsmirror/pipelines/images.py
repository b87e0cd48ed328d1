"""Images: every image an article shows, stored in the mirror and linked
from its page, so the page outlives the site and reads offline.

Scrapy's ImagesPipeline fetches (retries, of a 404 too; one download per
URL a crawl, none for a file already in the tree); this subclass stores
each image at mirror.layout.image_path(URL), re-encoded within the size
budget in the crawl's worker processes (pure CPU), and points the body's
<img> at it by a relative link. An image that cannot be had keeps its
original URL: the article is written anyway, counted in
newsmirror/images/failed/<reason>, and the catalog notes it as missing
images, so the spider fetches it again on the next run (while the feed
lists it) and the page is rewritten once every image is in.
"""
from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from itemadapter import ItemAdapter
from PIL import Image, ImageOps, UnidentifiedImageError
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, NotConfigured
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.images import ImagesPipeline

from newsmirror.mirror import body, layout
from newsmirror.mirror.files import inside, write_atomic
from newsmirror.pipelines.workers import Workers

logger = logging.getLogger(__name__)

# Each pass that is still over the byte cap lowers the JPEG quality by
# this much down to the floor, then shrinks the image by a quarter.
QUALITY_STEP = 10
QUALITY_FLOOR = 40
SMALLEST_SIDE = 64


class ImageRejected(Exception):
    """An image the mirror does not store; its text is the stats reason."""


@dataclass(frozen=True)
class ImageCaps:
    max_side: int  # longest side, pixels
    quality: int  # JPEG quality to start from
    max_bytes: int  # the stored file
    max_pixels: int  # width x height of the original: more is a bomb


def _open(data: bytes, caps: ImageCaps) -> Image.Image:
    """The image in data, its pixels not decoded yet; a bomb is refused
    on its header alone."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("bomb") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageRejected("not_image") from None
    if image.width * image.height > caps.max_pixels:
        raise ImageRejected("bomb")
    return image


def _flat_rgb(image: Image.Image) -> Image.Image:
    """RGB, transparent parts on white (JPEG has no alpha)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif= and no icc_profile=: the file keeps no metadata (EXIF can
    # hold where and with what a photo was taken).
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def reencode(data: bytes, caps: ImageCaps) -> tuple[bytes, bool]:
    """data as a JPEG within caps, and whether it was an animation (its
    first frame is kept, a still: a page shows what the article shows at
    first sight, and a JPEG is a fraction of an animated GIF's bytes)."""
    image = _open(data, caps)
    animated = getattr(image, "is_animated", False)
    scale = min(1.0, caps.max_side / max(image.size))
    # A JPEG decodes straight to half, quarter or eighth size: far less
    # CPU and memory for a large original.
    image.draft("RGB", (round(image.width * scale), round(image.height * scale)))
    try:
        image = _flat_rgb(ImageOps.exif_transpose(image))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageRejected("broken") from None
    image.thumbnail((caps.max_side, caps.max_side), Image.Resampling.LANCZOS)
    quality = caps.quality
    while len(jpeg := _jpeg(image, quality)) > caps.max_bytes:
        if quality > QUALITY_FLOOR:
            quality = max(QUALITY_FLOOR, quality - QUALITY_STEP)
        elif max(image.size) > SMALLEST_SIDE:
            image.thumbnail((max(image.size) * 3 // 4,) * 2, Image.Resampling.LANCZOS)
        else:
            raise ImageRejected("too_large")
    return jpeg, animated


def _request(src: str, max_download: int, retry_codes: frozenset[int]) -> Request | None:
    try:
        return Request(src, callback=NO_CALLBACK, meta={
            "download_maxsize": max_download,
            # An image on a CDN of another domain is the article's all the same.
            "allow_offsite": True,
            "retry_http_codes": retry_codes,
        })
    except ValueError:
        return None


class MirrorImagesPipeline(ImagesPipeline):
    EXPIRES = 100 * 365  # days: an image in the tree is never fetched again
    LOG_FAILED_RESULTS = False  # item_completed says which image failed, and why

    def __init__(self, store_uri, *, crawler):
        super().__init__(store_uri, crawler=crawler)
        settings = crawler.settings
        self.mirror_dir = Path(store_uri)
        self.stats = crawler.stats
        self.max_download = settings.getint("MIRROR_IMAGES_MAX_DOWNLOAD")
        # A 404 too: a CDN's edge answers it for a file it has not got yet,
        # and an image that fails costs its article a fetch in a later run.
        self.retry_codes = frozenset(
            {*map(int, settings.getlist("RETRY_HTTP_CODES")), 404})
        self.caps = ImageCaps(
            max_side=settings.getint("MIRROR_IMAGES_MAX_SIDE"),
            quality=settings.getint("MIRROR_IMAGES_QUALITY"),
            max_bytes=settings.getint("MIRROR_IMAGES_MAX_BYTES"),
            max_pixels=settings.getint("MIRROR_IMAGES_MAX_PIXELS"))
        self.workers = Workers.of(crawler)
        self.failures: dict[str, str] = {}  # URL -> why, for this crawl

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("MIRROR_IMAGES"):
            raise NotConfigured("MIRROR_IMAGES is off: pages link images at their sites")
        return cls(crawler.settings["MIRROR_DIR"], crawler=crawler)

    def _requests(self, item) -> list[tuple[dict, Request | None]]:
        """Each image of the item with its request (None: not a valid URL)."""
        return [(image, _request(image["src"], self.max_download, self.retry_codes))
                for image in ItemAdapter(item)["images"]]

    def get_media_requests(self, item, info):
        return [request for _, request in self._requests(item) if request]

    def file_path(self, request, response=None, info=None, *, item=None):
        return layout.image_path(request.url)

    # A failed image answers None instead of raising: Scrapy logs a raised
    # failure as an error with its traceback, and this is an expected
    # event, told in one line by item_completed with the reason noted here.

    def media_failed(self, failure, request, info):
        if failure.check(DownloadCancelledError):
            reason = "too_large"
        elif failure.check(IgnoreRequest):
            reason = "refused"  # robots.txt, an off-site redirect
        else:
            reason = failure.type.__name__
        self.failures[request.url] = reason

    async def media_downloaded(self, response, request, info, *, item=None):
        if response.status != 200:
            self.failures[request.url] = f"http_{response.status}"
            return None
        try:
            data, animated = await self.workers.run(
                type(self).__name__, reencode, response.body, self.caps)
        except ImageRejected as rejected:
            self.failures[request.url] = str(rejected)
            return None
        path = self.file_path(request)
        if write_atomic(inside(self.mirror_dir, path), data):
            self.stats.inc_value("newsmirror/images/stored")
            self.stats.inc_value("newsmirror/images/bytes_fetched", len(response.body))
            self.stats.inc_value("newsmirror/images/bytes_stored", len(data))
        if animated:
            self.stats.inc_value("newsmirror/images/animation_kept_as_still")
        self.inc_stats("downloaded")
        return {"url": request.url, "path": path, "status": "downloaded",
                "checksum": hashlib.md5(data, usedforsecurity=False).hexdigest()}

    def item_completed(self, results, item, info):
        """Point the body at the stored images; note the missing ones."""
        adapter = ItemAdapter(item)
        stored, missing = {}, 0
        outcomes = iter(results)
        for image, request in self._requests(item):
            if request is None:  # never valid: not fetched again either
                self.stats.inc_value("newsmirror/images/failed/bad_url")
                logger.warning("image URL not valid, the page keeps it as it is: "
                               "%r in %s", image["src"], adapter["url"])
                continue
            ok, value = next(outcomes)
            if ok and value:
                image["path"] = stored[image["src"]] = value["path"]
                continue
            missing += 1
            # Not ok: an error of the pipeline itself, logged by Scrapy.
            reason = self.failures.get(request.url, "error") if ok else value.type.__name__
            self.stats.inc_value(f"newsmirror/images/failed/{reason}")
            logger.warning("image not mirrored (%s), the page links it at its "
                           "site until a later run has it: %s in %s",
                           reason, image["src"], adapter["url"])
        adapter["images_missing"] = missing
        if stored:
            page_dir = layout.page_dir(adapter["site"], adapter["id"], adapter["published"])
            root = body.parse(adapter["body_html"])
            for img in root.iter("img"):
                if img.get("src") in stored:
                    img.set("src", body.relative(stored[img.get("src")], page_dir))
            adapter["body_html"] = body.serialize(root)
        return item
