"""soundofhope.org (希望之声): URLs, selectors and boilerplate markers.

The markers come from the site's real article markup: empty ad slots,
iframe embed placeholders, audio players, the editor and copyright lines
(p.meta-btm), as its Next.js pages served them.
"""
import re

from newsmirror.sites import SiteProfile

SOUNDOFHOPE = SiteProfile(
    name="soundofhope",
    title="希望之声",
    base_url="https://www.soundofhope.org",
    channels={
        "5": "中国新闻", "6": "北美新闻", "7": "财经新闻", "55": "港台新闻",
        "3": "文化", "4": "历史", "59": "个人评论", "186": "近期热点",
    },
    feed_path="/rss/{channel}",
    article_url=re.compile(r"^/post/(?P<id>[^/?#]+)$"),
    body_css="div[class^='Content__Wrapper']",
    boilerplate_tags=frozenset({"script", "style", "noscript", "form", "input",
                                "button", "select", "textarea", "svg", "canvas"}),
    boilerplate_ids=frozenset(),
    boilerplate_id_prefixes=(),
    boilerplate_classes=(("div", "AD_Embed__Wrap"), ("div", "AudioCompact__Wrap"),
                         ("div", "iframely-embed"), ("div", "twitter-tweet"),
                         ("p", "meta-btm")),
    boilerplate_text=(),
    # The editor's line, in a p.meta-btm or a plain p, comes last but for
    # the copyright line.
    end_marker_text=("责任编辑：", "责任编辑:", "責任編輯：", "責任編輯:"),
    source_label=re.compile(r"^\s*文章[来來]源\s*[:：]\s*(?P<source>.+?)\s*$", re.S),
    # Bodies in Traditional characters write 希望之聲.
    dateline=re.compile(
        r"【希望之[声聲](?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日】"),
    tag_url=re.compile(r"/term/\d+"),
    # The zone of the site's own timestamps (article:published_time, feeds).
    timezone="America/Los_Angeles",
    lead_figure_css="figure.feature-image",
    # Its keywords repeat the body's tag links; menus link /term/ too.
    keywords_are_tags=False,
    section_css="div.breadcrumb a::attr(href)",
    section_url=re.compile(r"^/term/(?P<channel>\d+)$"),
)
