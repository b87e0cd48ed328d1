"""Feed storages (FEED_STORAGES): where Scrapy's items feeds are written."""
