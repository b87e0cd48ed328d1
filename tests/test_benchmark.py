"""The crawl benchmark runs end to end and reports every figure."""
import subprocess
import sys

from tests.conftest import ROOT


def test_benchmark_reports_bare_full_and_rerun():
    out = subprocess.run(
        [sys.executable, "benchmarks/crawl.py", "-n", "30", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "site: generated from the sample, 30 articles" in out
    for line in ("bare :", "full :", "CleanPipeline", "TagsPipeline",
                 "MirrorImagesPipeline", "MirrorLinksPipeline",
                 "MarkdownPagePipeline", "QrImagePipeline", "IndexPipeline",
                 "all stages", "full/bare articles/s",
                 "pipeline CPU / bare CPU per article", "rerun seconds",
                 "peak RSS, all modes:", "a worker process:",
                 "CONCURRENT_REQUESTS=32", "AUTOTHROTTLE_ENABLED=False"):
        assert line in out, line
    # The rerun over the finished mirror fetches feeds only.
    assert "0 article requests, 0 items" in out
    assert "bare 1/1: " in out and "full 1/1: " in out


def test_benchmark_weighs_a_setting_against_the_defaults():
    out = subprocess.run(
        [sys.executable, "benchmarks/crawl.py", "-n", "30", "--repeat", "1",
         "--modes", "full", "--variant", "MIRROR_WORKERS=0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "full 1/1: " in out and "variant 1/1: " in out
    assert "variant settings: MIRROR_WORKERS=0" in out
    [line] = [l for l in out.splitlines() if l.startswith("variant:")]
    assert "variant/full articles/s" in line
    # No worker processes in the variant: its line shows no worker's RSS.
    assert "of a worker process" not in line
