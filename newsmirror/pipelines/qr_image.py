"""QR image: the page's public URL as a PNG beside the page.

Drawing and writing the PNG is pure CPU and file creation, and needs
nothing from the crawl but the URL and the path: it runs in the crawl's
worker processes (newsmirror.pipelines.workers), on another core than the reactor
thread. The item goes on to the index only once its PNG is on disk.
"""
from __future__ import annotations

import io
from pathlib import Path

import zxingcpp
from itemadapter import ItemAdapter
from PIL import Image

from newsmirror.mirror.files import inside, write_atomic
from newsmirror.pipelines.workers import Workers

BOX_SIZE = 6  # pixels per module


def qr_png(text: str) -> bytes:
    """text as a QR code (error correction M, the standard's light border
    of four modules) in a black-and-white PNG."""
    # zxing-cpp encodes in C++, about seven times faster than qrcode's pure
    # Python, trying all eight masks; one pixel per module, scaled up.
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode,
                                   ec_level="M").to_image(add_quiet_zones=True)
    height, width = code.shape
    image = Image.frombytes("L", (width, height), bytes(code)).resize(
        (width * BOX_SIZE, height * BOX_SIZE), Image.Resampling.NEAREST
    ).convert("1", dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def write_qr(path: Path, text: str) -> bool:
    """Write the PNG of text at path; False if it was there already."""
    return write_atomic(path, qr_png(text))


class QrImagePipeline:
    def __init__(self, crawler):
        self.stats = crawler.stats
        self.mirror_dir = Path(crawler.settings.get("MIRROR_DIR"))
        self.workers = Workers.of(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        target = inside(self.mirror_dir, adapter["qr_path"])
        if await self.workers.run(type(self).__name__, write_qr, target,
                                  adapter["public_url"]):
            self.stats.inc_value("newsmirror/qr_written")
        return item
