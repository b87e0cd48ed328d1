"""Deploy the project to a real scrapyd on 127.0.0.1 and run the spider there.

The egg is built and uploaded by scrapyd-client from a copy of the project
(so the work tree gets no build/ directory), scrapyd runs the crawls from
that egg in its own working directory, and every setting reaches the job
through schedule.json.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

from newsmirror.sample.server import SiteServer, sample_site
from tests.conftest import CRAWL_SETTINGS, ROOT, free_port
from tests.mirror_checks import check_page

pytestmark = pytest.mark.scrapyd
PROJECT_FILES = ("scrapy.cfg", "setup.py", "pyproject.toml", "README.md",
                 "requirements.txt", "newsmirror")
BASE_URL = CRAWL_SETTINGS["MIRROR_BASE_URL"]
# Each poll below gives up after this long; the whole test takes ~10 s.
DEADLINE = 40


def poll(check, what: str, process: subprocess.Popen, log: Path):
    """check() until it returns something truthy, while scrapyd lives."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        assert process.poll() is None, f"scrapyd exited:\n{log.read_text()[-3000:]}"
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {DEADLINE} s\n{log.read_text()[-3000:]}")


class Scrapyd:
    def __init__(self, workdir: Path, process: subprocess.Popen, url: str):
        self.workdir, self.process, self.url = workdir, process, url
        self.log = workdir / "scrapyd.out"

    def get(self, endpoint: str, **params) -> dict:
        with urlopen(f"{self.url}{endpoint}?{urlencode(params)}", timeout=10) as r:
            return json.load(r)

    def post(self, endpoint: str, data: list[tuple[str, str]]) -> dict:
        with urlopen(f"{self.url}{endpoint}", urlencode(data).encode(), timeout=10) as r:
            return json.load(r)

    def up(self) -> bool:
        try:
            return self.get("daemonstatus.json")["status"] == "ok"
        except OSError:
            return False

    def poll(self, check, what: str):
        return poll(check, what, self.process, self.log)


@pytest.fixture
def scrapyd(tmp_path):
    """A scrapyd process with its own config and working directory."""
    workdir = tmp_path / "scrapyd"
    workdir.mkdir()
    port = free_port()
    # scrapyd reads ./scrapyd.conf; poll the queue often so jobs start at once.
    (workdir / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\n"
        "poll_interval = 0.2\neggs_dir = eggs\nlogs_dir = logs\ndbs_dir = dbs\n"
        "items_dir =\n")
    # HOME: no ~/.scrapyd.conf or ~/.scrapy.cfg of the machine's user.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY")}
    env.update(HOME=str(workdir))
    env.pop("PYTHONPATH", None)
    # Its own process group: scrapyd leaves running jobs behind when it
    # stops, and the group holds them too.
    with open(workdir / "scrapyd.out", "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "scrapyd"], cwd=workdir,
                                   env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Scrapyd(workdir, process, f"http://127.0.0.1:{port}/")
    try:
        server.poll(server.up, "scrapyd answers daemonstatus.json")
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def deploy(scrapyd: Scrapyd, tmp_path: Path) -> dict:
    """scrapyd-deploy from a copy of the project, to a target at scrapyd."""
    src = tmp_path / "src"
    src.mkdir()
    for name in PROJECT_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    with open(src / "scrapy.cfg", "a") as cfg:
        cfg.write(f"\n[deploy:test]\nurl = {scrapyd.url}\nproject = newsmirror\n")
    env = dict(os.environ, HOME=str(scrapyd.workdir))
    result = subprocess.run(
        [sys.executable, "-m", "scrapyd_client.deploy", "test", "-v", "1.0.0"],
        cwd=src, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def schedule(scrapyd: Scrapyd, site: SiteServer, mirror: Path,
             *extra: tuple[str, str]) -> str:
    settings = {**CRAWL_SETTINGS, "SECRETCHINA_BASE_URL": site.base_url,
                "MIRROR_DIR": str(mirror)}
    answer = scrapyd.post("schedule.json", [
        ("project", "newsmirror"), ("spider", "secretchina"),
        *(("setting", f"{k}={v}") for k, v in settings.items()), *extra])
    assert answer["status"] == "ok", answer
    return answer["jobid"]


def job_log(scrapyd: Scrapyd, job: str) -> str:
    return (scrapyd.workdir / "logs/newsmirror/secretchina" / f"{job}.log").read_text("utf-8")


def test_deploy_and_run_on_scrapyd(scrapyd, site_server, tmp_path):
    answer = deploy(scrapyd, tmp_path)
    assert (answer["status"], answer["project"], answer["spiders"]) == (
        "ok", "newsmirror", 2), answer
    assert scrapyd.get("listspiders.json", project="newsmirror")["spiders"] == [
        "secretchina", "soundofhope"]

    # The egg scrapyd keeps has the settings entry point and the sample
    # site, and importlib.resources reads the site from inside the zip.
    egg = scrapyd.workdir / "eggs/newsmirror/1_0_0.egg"
    with zipfile.ZipFile(egg) as z:
        assert "settings = newsmirror.settings" in z.read(
            "EGG-INFO/entry_points.txt").decode()
        assert "newsmirror/sample/site/news/gb/p1.xml" in z.namelist()
        assert "newsmirror/sample/soundofhope/post/900001" in z.namelist()
        assert not [n for n in z.namelist() if n.startswith("tests/")]
    probe = subprocess.run([sys.executable, "-c",
        "import sys; sys.path.insert(0, sys.argv[1]); import newsmirror; "
        "from newsmirror.sample.server import sample_site; "
        "print(newsmirror.__file__); print((sample_site() / 'robots.txt').read_text())",
        str(egg)], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(egg / "newsmirror")), probe.stdout
    assert probe.stdout.split("\n", 1)[1] == (sample_site() / "robots.txt").read_text() + "\n"

    # Two jobs at once: some channels with an explicit JSON Lines feed, and
    # every channel with the default feed beside the mirror.
    with SiteServer(sample_site()) as all_site:
        some_mirror, some_feed = tmp_path / "some/mirror", tmp_path / "feeds/items.jl"
        some = schedule(scrapyd, site_server, some_mirror,
                        ("setting", "FEEDS=" + json.dumps(
                            {str(some_feed): {"format": "jsonlines"}})),
                        ("channels", "p1,p9"))
        all_mirror = tmp_path / "all/mirror"
        every = schedule(scrapyd, all_site, all_mirror)
        # The project's crawl command runs scrapyd's jobs: a bad setting
        # stops the job at once, one line in its log.
        bad = schedule(scrapyd, site_server, tmp_path / "bad/mirror",
                       ("setting", "MIRROR_ARTICLE_WINDOW=-1"))

        def finished():
            jobs = scrapyd.get("listjobs.json", project="newsmirror")
            done = {job["id"] for job in jobs["finished"]}
            return {some, every, bad} <= done

        scrapyd.poll(finished, "all jobs finished")

    log = job_log(scrapyd, bad)
    assert "ERROR: bad setting MIRROR_ARTICLE_WINDOW='-1': allowed: " in log, log[-3000:]
    assert "Spider opened" not in log and "Traceback" not in log, log[-3000:]

    for job, pages in ((some, 3), (every, 6)):
        log = job_log(scrapyd, job)
        assert "Spider closed (finished)" in log, log[-3000:]
        assert "] ERROR:" not in log, log[-3000:]
        assert f"mirror summary: {pages} articles mirrored ({pages} pages new" in log, log[-3000:]

    # channels=p1,p9: only those feeds were read and mirrored.
    assert sorted(p for p in site_server.requests if p.endswith(".xml")) == [
        "/news/gb/p1.xml", "/news/gb/p9.xml"]
    assert sorted(p.stem for p in some_mirror.glob("pages/**/*.md")) == [
        "1100001", "1100002", "1100006"]
    raw = some_feed.read_text("utf-8")
    assert "山区小学" in raw and "\\u" not in raw
    assert sorted(json.loads(line)["id"] for line in raw.splitlines()) == [
        "1100001", "1100002", "1100006"]
    assert not (tmp_path / "some/mirror-items").exists()
    for page in some_mirror.glob("pages/**/*.md"):
        check_page(page, BASE_URL, some_mirror)

    # Defaults: every channel, and one JSON feed of the run beside the mirror.
    pages = sorted(all_mirror.glob("pages/**/*.md"))
    assert len(pages) == 6
    for page in pages:
        check_page(page, BASE_URL, all_mirror)
    assert (all_mirror / "README.md").is_file() and (all_mirror / "feed.json").is_file()
    feeds = list((tmp_path / "all/mirror-items").iterdir())
    assert [f.name[:len("secretchina-")] for f in feeds] == ["secretchina-"]
    assert feeds[0].suffix == ".json"
    raw = feeds[0].read_text("utf-8")
    assert "山区小学" in raw and "\\u" not in raw
    assert sorted(item["id"] for item in json.loads(raw)) == [
        "1100001", "1100002", "1100003", "1100004", "1100005", "1100006"]
