"""QR image: the page's public URL as a PNG beside the page."""
from __future__ import annotations

import io
from pathlib import Path

import qrcode
from itemadapter import ItemAdapter

from newsmirror.mirror.files import inside, write_atomic

# A fixed mask skips qrcode's trial of all eight masks (8x faster); any
# mask decodes, it only changes how evenly dark and light are spread.
MASK_PATTERN = 0


def qr_png(text: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                         box_size=6, border=4, mask_pattern=MASK_PATTERN)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
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
