"""QR image: the page's public URL as a PNG beside the page.

Drawing and writing the PNG is pure CPU and file creation, and needs
nothing from the crawl but the URL and the path: it runs in the crawl's
worker processes (newsmirror.pipelines.workers), on another core than the reactor
thread. The item goes on to the index only once its PNG is on disk.
"""
from __future__ import annotations

import functools
import io
from pathlib import Path

import qrcode
from itemadapter import ItemAdapter
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import MODE_8BIT_BYTE, QRData

from newsmirror.mirror.files import inside, write_atomic
from newsmirror.pipelines.workers import Workers

BOX_SIZE = 6  # pixels per module
BORDER = 4  # the standard's light border, in modules
# qrcode scores all eight mask patterns by default, drawing the symbol
# eight times; any fixed mask decodes as well (measured in benchmarks/qr.py).
MASK_PATTERN = 0


@functools.lru_cache(maxsize=64)
def _version_for(length: int) -> int:
    """Smallest QR version holding length bytes: page URLs of one site have
    a handful of lengths, so the search runs once for each (bounded cache)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    code.add_data(QRData(b"0" * length, mode=MODE_8BIT_BYTE))
    return code.best_fit()


def qr_png(text: str) -> bytes:
    """text as a QR code (error correction M) in a black-and-white PNG."""
    data = QRData(text.encode(), mode=MODE_8BIT_BYTE)
    code = qrcode.QRCode(version=_version_for(len(data)),
                         error_correction=ERROR_CORRECT_M, border=BORDER,
                         mask_pattern=MASK_PATTERN)
    code.add_data(data)
    code.make(fit=False)
    modules = code.get_matrix()  # border included, True = dark
    side = len(modules)
    pixels = bytes(0 if dark else 255 for row in modules for dark in row)
    image = Image.frombytes("L", (side, side), pixels).resize(
        (side * BOX_SIZE, side * BOX_SIZE), Image.Resampling.NEAREST
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
        if not adapter["qr_path"]:
            return item  # no public URL to encode
        target = inside(self.mirror_dir, adapter["qr_path"])
        if await self.workers.run(type(self).__name__, write_qr, target,
                                  adapter["public_url"]):
            self.stats.inc_value("newsmirror/qr_written")
        return item
