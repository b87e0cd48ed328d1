"""QR image: the page's public URL as a PNG beside the page."""
from __future__ import annotations

import io
from pathlib import Path

import qrcode
from itemadapter import ItemAdapter
from PIL import Image

from newsmirror.mirror.files import inside, write_atomic

# A fixed mask skips qrcode's trial of all eight masks (8x faster); any
# mask decodes, it only changes how evenly dark and light are spread.
MASK_PATTERN = 0
BOX_SIZE = 6  # pixels per module
BORDER = 4  # light modules around the code, as the standard asks


def qr_png(text: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                         mask_pattern=MASK_PATTERN)
    code.add_data(text)
    code.make(fit=True)
    # One pixel per module, scaled up: the same PNG that qrcode's
    # make_image() draws rectangle by rectangle, at a third of the cost.
    size = code.modules_count + 2 * BORDER
    margin = b"\xff" * BORDER
    pixels = b"".join(
        margin + bytes(0 if dark else 255 for dark in row) + margin
        for row in code.modules)
    edge = b"\xff" * (size * BORDER)
    image = Image.frombytes("L", (size, size), edge + pixels + edge).resize(
        (size * BOX_SIZE, size * BOX_SIZE), Image.Resampling.NEAREST
    ).convert("1", dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class QrImagePipeline:
    def __init__(self, crawler):
        self.stats = crawler.stats
        self.mirror_dir = Path(crawler.settings.get("MIRROR_DIR"))

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        adapter = ItemAdapter(item)
        target = inside(self.mirror_dir, adapter["qr_path"])
        if write_atomic(target, qr_png(adapter["public_url"])):
            self.stats.inc_value("newsmirror/qr_written")
        return item
