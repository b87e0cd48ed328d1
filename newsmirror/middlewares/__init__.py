"""Downloader middlewares: what Scrapy 2.19 does not do itself."""
