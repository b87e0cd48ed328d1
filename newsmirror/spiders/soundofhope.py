"""soundofhope.org (希望之声): its profile on the shared feed-article spider."""
from newsmirror.sites.soundofhope import SOUNDOFHOPE
from newsmirror.spiders.feed_article import FeedArticleSpider


class SoundOfHopeSpider(FeedArticleSpider):
    name = "soundofhope"
    site = SOUNDOFHOPE
