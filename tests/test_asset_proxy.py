"""scripts/asset_proxy.py: the scorer's HTTPS proxy for images on third hosts."""
import ssl
import urllib.error
import urllib.request

import pytest

from scripts.asset_proxy import AssetProxy


def test_the_proxy_answers_for_each_host_from_its_hosts_folder(tmp_path):
    image = tmp_path / "_hosts/pbs.example.net/media/a.jpg"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\xff\xd8\xff jpeg")
    (tmp_path / "secret.txt").write_text("not under _hosts")
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    with AssetProxy(tmp_path) as proxy:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"https": proxy.url}),
            urllib.request.HTTPSHandler(context=unverified))
        with opener.open("https://pbs.example.net/media/a.jpg?format=jpg") as answer:
            assert answer.read() == b"\xff\xd8\xff jpeg"
            assert answer.headers["Content-Type"] == "image/jpeg"
        for url in ("https://pbs.example.net/media/b.jpg", "https://other.example/a.jpg",
                    "https://pbs.example.net/../../secret.txt"):
            with pytest.raises(urllib.error.HTTPError) as missing:
                opener.open(url)
            assert missing.value.code == 404, url
