"""secretchina.com (看中国): its profile on the shared feed-article spider."""
from newsmirror.sites.secretchina import SECRETCHINA
from newsmirror.spiders.feed_article import FeedArticleSpider


class SecretChinaSpider(FeedArticleSpider):
    name = "secretchina"
    site = SECRETCHINA
