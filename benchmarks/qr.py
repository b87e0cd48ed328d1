"""QR benchmark: ms per PNG, qrcode's defaults vs. the QR stage's encoder.

    .venv/bin/python benchmarks/qr.py [--runs 5] [--count 200]

Encodes page URLs of the lengths the mirror writes, alternating the
encoders run by run, and prints the median ms per PNG of each and their
ratio; every PNG is decoded (zxing-cpp, a test requirement) and must give
its URL back. The encoders:

  qrcode defaults  qrcode.make(): fits the version, scores all 8 masks,
                   draws module by module with pillow
  QR stage         newsmirror.pipelines.qr_image.qr_png: one fixed mask,
                   the version looked up once per URL length, the PNG
                   written from the module matrix in one pillow call
"""
from __future__ import annotations

import argparse
import io
import statistics
import time

import qrcode
import zxingcpp
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from newsmirror.pipelines.qr_image import BORDER, BOX_SIZE, qr_png

URLS = [
    "https://github.com/OWNER/REPO/blob/master/pages/secretchina/2024-05/06/"
    f"{1100000 + i}.md" for i in range(50)
] + [
    "https://github.com/OWNER/REPO/blob/master/pages/soundofhope/2020-01/31/"
    f"{i}.md" for i in range(50)
]


def qrcode_defaults(text: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(text, error_correction=ERROR_CORRECT_M, box_size=BOX_SIZE,
                border=BORDER).save(out)
    return out.getvalue()


ENCODERS = {"qrcode defaults": qrcode_defaults, "QR stage": qr_png}


def ms_per_png(encode, count: int) -> float:
    urls = (URLS * (count // len(URLS) + 1))[:count]
    start = time.perf_counter()
    for url in urls:
        encode(url)
    return (time.perf_counter() - start) / count * 1000


def decodes(encode) -> bool:
    for url in URLS:
        image = Image.open(io.BytesIO(encode(url)))
        if [r.text for r in zxingcpp.read_barcodes(image)] != [url]:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    times = {name: [] for name in ENCODERS}
    for _ in range(args.runs):
        for name, encode in ENCODERS.items():
            times[name].append(ms_per_png(encode, args.count))
    medians = {name: statistics.median(ms) for name, ms in times.items()}
    for name, encode in ENCODERS.items():
        print(f"{name:16s} {medians[name]:6.2f} ms per PNG  "
              f"decodes: {'all' if decodes(encode) else 'NOT ALL'}")
    print(f"QR stage / qrcode defaults: "
          f"{medians['QR stage'] / medians['qrcode defaults']:.2f}")


if __name__ == "__main__":
    main()
