"""QR image: the page's public URL as a PNG beside the page.

Drawing and writing the PNG is pure CPU and file creation, and needs
nothing from the crawl but the URL and the path: it runs in
MIRROR_QR_WORKERS worker processes, on another core than the crawl's
reactor thread (0 draws it in the crawler itself). The item goes on to the
index only once its PNG is on disk. The workers' CPU time is counted in
the stat newsmirror/cpu_ms/QrImagePipeline/worker.
"""
from __future__ import annotations

import asyncio
import io
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import zxingcpp
from itemadapter import ItemAdapter
from PIL import Image

from newsmirror.mirror.files import inside, write_atomic

BOX_SIZE = 6  # pixels per module


def qr_png(text: str) -> bytes:
    """text as a QR code (error correction M, the standard's light border
    of four modules) in a black-and-white PNG."""
    # zxing-cpp encodes in C++, about ten times faster than a pure-Python
    # encoder, and tries all eight masks; one pixel per module, scaled up.
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode,
                                   ec_level="M").to_image(add_quiet_zones=True)
    height, width = code.shape
    image = Image.frombytes("L", (width, height), bytes(code)).resize(
        (width * BOX_SIZE, height * BOX_SIZE), Image.Resampling.NEAREST
    ).convert("1", dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def exit_with_parent() -> None:
    """Worker initializer: end the worker when the crawl process ends, even
    killed with SIGKILL, when the pool has no chance to stop it."""
    parent = multiprocessing.parent_process()

    def watch():
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def write_qr(path: Path, text: str) -> tuple[bool, float]:
    """Write the PNG of text at path: (changed, CPU ms it took)."""
    start = time.process_time()
    changed = write_atomic(path, qr_png(text))
    return changed, (time.process_time() - start) * 1000


class QrImagePipeline:
    def __init__(self, crawler):
        self.stats = crawler.stats
        self.mirror_dir = Path(crawler.settings.get("MIRROR_DIR"))
        self.workers = crawler.settings.getint("MIRROR_QR_WORKERS")
        self.pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        if self.workers > 0:
            # spawn: a fork of the running reactor's threads is unsafe.
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with_parent)

    def close_spider(self):
        if self.pool is not None:
            self.pool.shutdown()

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        target = inside(self.mirror_dir, adapter["qr_path"])
        if self.pool is None:
            changed, _ = write_qr(target, adapter["public_url"])
        else:
            changed, cpu_ms = await asyncio.wrap_future(
                self.pool.submit(write_qr, target, adapter["public_url"]))
            self.stats.inc_value("newsmirror/cpu_ms/QrImagePipeline/worker",
                                 cpu_ms)
        if changed:
            self.stats.inc_value("newsmirror/qr_written")
        return item
