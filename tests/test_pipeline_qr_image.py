"""QR image: a PNG beside the page that decodes to the page's public URL."""
import pytest
import zxingcpp
from PIL import Image

from newsmirror.items import ArticleItem
from newsmirror.pipelines.qr_image import QrImagePipeline, qr_png
from tests.conftest import run_closing


def decode(path):
    results = zxingcpp.read_barcodes(Image.open(path))
    return [r.text for r in results]


@pytest.mark.parametrize("url", [
    "https://github.com/OWNER/REPO/blob/master/pages/p1/1100001.md",
    "https://镜像.example/页面/p1/1100001.md",
    "https://example.org/" + "x" * 500,
])
def test_qr_png_decodes_to_the_text(tmp_path, url):
    (tmp_path / "q.png").write_bytes(qr_png(url))
    assert decode(tmp_path / "q.png") == [url]
    image = Image.open(tmp_path / "q.png")
    # Black and white, six pixels a module, with a four-module border.
    assert image.mode == "1" and image.width == image.height
    assert image.width % 6 == 0 and image.getpixel((23, 23)) == 255


@pytest.mark.parametrize("workers", [0, 1])
def test_pipeline_writes_the_png_in_the_mirror(make_crawler, mirror_dir, workers):
    crawler = make_crawler(MIRROR_WORKERS=workers)
    url = "https://example.org/m/blob/main/pages/p1/7.md"
    item = ArticleItem(site="secretchina", id="7", url="u", channel="p1", title="t",
                       published="p", body_html="<p>x</p>", public_url=url,
                       page_path="pages/p1/7.md", qr_path="pages/p1/7.md.png")
    pipeline = QrImagePipeline.from_crawler(crawler)
    assert run_closing(pipeline.workers, lambda: pipeline.process_item(item)) is item
    assert decode(mirror_dir / "pages/p1/7.md.png") == [url]
    assert crawler.stats.get_value("newsmirror/qr_written") == 1
    worker_ms = crawler.stats.get_value("newsmirror/cpu_ms/QrImagePipeline/worker")
    assert (worker_ms >= 0) if workers else worker_ms is None


def test_no_png_without_a_public_url(make_crawler, mirror_dir):
    crawler = make_crawler(MIRROR_WORKERS=0)
    item = ArticleItem(site="secretchina", id="7", url="u", channel="p1", title="t",
                       published="p", body_html="<p>x</p>", page_path="pages/p1/7.md")
    pipeline = QrImagePipeline.from_crawler(crawler)
    assert run_closing(pipeline.workers, lambda: pipeline.process_item(item)) is item
    assert list(mirror_dir.rglob("*.png")) == []
