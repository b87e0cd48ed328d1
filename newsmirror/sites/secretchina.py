"""secretchina.com (看中国): URLs, selectors and boilerplate markers.

The markers come from the site's real article markup: ad slots, hidden
anti-copy spans, the short-URL/copyright line and the membership appeal.
"""
import re

from newsmirror.sites import SiteProfile

SECRETCHINA = SiteProfile(
    name="secretchina",
    title="看中国",
    base_url="https://www.secretchina.com",
    channels={
        "p1": "中国", "p2": "国际", "p3": "财经", "p4": "评论", "p5": "文化",
        "p6": "历史", "p7": "生活", "p8": "健康", "p9": "要闻",
    },
    feed_path="/news/gb/{channel}.xml",
    article_url=re.compile(
        r"/news/gb/(?:\d{4}/\d{1,2}/\d{1,2}/)?(?P<id>[^/?#]+)\.html?$"),
    body_css="div.article_right",
    boilerplate_tags=frozenset({"script", "style", "noscript", "form", "input",
                                "button", "select", "textarea"}),
    boilerplate_ids=frozenset({"hideid", "nofree", "nofeepop"}),
    boilerplate_id_prefixes=("div-gpt-ad", "txt-mid", "SC-", "taboola"),
    boilerplate_classes=(("ins", "adsbygoogle"),),
    boilerplate_text=("本文短网址", "严禁建立镜像网站", "诚征荣誉会员",
                      "任何形式转载需看中国授权许可"),
    end_marker_text=("本文短网址", "诚征荣誉会员"),
    source_label=re.compile(r"^\s*来源\s*[:：]\s*(?P<source>.+?)\s*$", re.S),
    dateline=re.compile(
        r"【看中国(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日讯】"),
    tag_url=re.compile(r"/news/gb/tag/(?P<tag>[^/?#]+)"),
    timezone="America/New_York",
)
