"""The GitHub rendering check finds each kind of problem, and nothing in a sound page."""
from tests.gfm_checks import problems

SOUND = """# 标题 https\\://x.org \\*星\\* C:\\\\dir

[首页](../README.md) | [原文](https://example.org/a_b) [x@example.org]

正文 [www.ceair.com](http://www.ceair.com)主页面 737\\-800 **粗**，x@example.org

![图](a.md.png)

`www.code.org` <https://x.org/a-b>
"""


def tree(tmp_path, page: str):
    (tmp_path / "README.md").write_text("# 首页\n", "utf-8")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.md.png").write_bytes(b"png")
    (tmp_path / "p" / "a.md").write_text(page, "utf-8")
    return tmp_path


def test_a_sound_page_has_no_problem(tmp_path):
    assert problems(tree(tmp_path, SOUND)) == []


def test_each_kind_of_problem_is_found(tmp_path):
    page = "\n\n".join([
        "[gone](../indexes/p3.md) ![gone](b.png) [root](/pages/x.md) [out](../../x.md)",
        "https://v.ca/en/submit\\-a\\-claim",
        "东航 www.ceair.com主页面",
        "他说**“不”**。",
        "<b>标签</b>",
    ])
    found = [line.split(": ")[1] for line in problems(tree(tmp_path, page))]
    assert sorted(set(found)) == sorted([
        "dead link", "link rooted at / (outside the repository on the host)",
        "link leaves the tree", "backslash in link URL", "autolinked text",
        "visible backslash", "literal markup '**'", "raw HTML (2)"])
    assert found.count("dead link") == 2
