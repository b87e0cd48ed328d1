"""Image budget: bytes per article before and after re-encoding.

    .venv/bin/python benchmarks/images.py [--site DIR] [--qualities 60,70,75,80,90]

Without --site it builds the corpus site with ../shared/tools/sitegen.py
(which writes the images the pages show under _hosts/<host>/) into a
temporary directory. For every article it sums the bytes of the images its
body shows as the site serves them, then as the mirror stores them
(newsmirror.pipelines.images.reencode with the project's caps) at each
JPEG quality given, with the mean PSNR against the original scaled to the
same size (higher is closer; about 40 dB and above is hard to tell apart),
how many images the byte cap made smaller still (over it at that
quality), and the re-encoding CPU time per image. An image shown by several articles counts for each.
"""
from __future__ import annotations

import argparse
import io
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from newsmirror import settings  # noqa: E402
from newsmirror.pipelines.images import ImageCaps, reencode  # noqa: E402

SITEGEN = ROOT.parent / "shared" / "tools" / "sitegen.py"
BODY = re.compile(r'<div class="article_right".*', re.S)
IMAGE_SRC = re.compile(r'<img\b[^>]*?\bsrc="https?://([^/"]+)/([^"?]+)')


def article_images(site: Path) -> dict[str, list[bytes]]:
    """Each article's body images, as the site serves them."""
    found = {}
    for page in sorted(site.glob("news/gb/*/*/*/*.html")):
        body = BODY.search(page.read_text("utf-8"))
        files = [site / "_hosts" / host / path
                 for host, path in IMAGE_SRC.findall(body[0] if body else "")]
        found[page.stem] = [f.read_bytes() for f in files if f.is_file()]
    return found


def psnr(original: bytes, stored: bytes) -> float:
    mirrored = Image.open(io.BytesIO(stored)).convert("RGB")
    reference = Image.open(io.BytesIO(original)).convert("RGB").resize(
        mirrored.size, Image.Resampling.LANCZOS)
    mse = sum(ImageStat.Stat(ImageChops.difference(reference, mirrored)).sum2) \
        / (3 * mirrored.width * mirrored.height)
    return 100.0 if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, help="a site built by sitegen.py")
    parser.add_argument("--qualities", default="60,70,75,80,90")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="images-bench-") as tmp:
        site = args.site
        if site is None:
            site = Path(tmp) / "site"
            subprocess.run([sys.executable, SITEGEN, site], check=True,
                           stdout=subprocess.DEVNULL)
        images = article_images(site)
    n = len(images)
    originals = [data for found in images.values() for data in found]
    print(f"site: {args.site or 'the corpus (sitegen.py)'}; {n} articles, "
          f"{len(originals)} images shown; caps: longest side "
          f"{settings.MIRROR_IMAGES_MAX_SIDE} px, {settings.MIRROR_IMAGES_MAX_BYTES} bytes")
    print(f"as served: {sum(map(len, originals)) / n / 1024:.1f} KiB per article")
    print("quality  KiB/article  of served  mean PSNR  byte-capped  ms/image")
    for quality in (int(q) for q in args.qualities.split(",")):
        caps = ImageCaps(max_side=settings.MIRROR_IMAGES_MAX_SIDE, quality=quality,
                         max_bytes=settings.MIRROR_IMAGES_MAX_BYTES,
                         max_pixels=settings.MIRROR_IMAGES_MAX_PIXELS)
        start = time.process_time()
        stored = [reencode(data, caps)[0] for data in originals]
        ms = 1000 * (time.process_time() - start) / max(1, len(originals))
        uncapped = ImageCaps(caps.max_side, quality, sys.maxsize, caps.max_pixels)
        capped = sum(len(reencode(data, uncapped)[0]) > caps.max_bytes
                     for data in originals)
        scores = [psnr(o, s) for o, s in zip(originals, stored)]
        print(f"{quality:>7}  {sum(map(len, stored)) / n / 1024:11.1f}  "
              f"{sum(map(len, stored)) / sum(map(len, originals)):9.0%}  "
              f"{sum(scores) / len(scores):6.1f} dB  {capped:>11}  {ms:8.1f}")


if __name__ == "__main__":
    main()
