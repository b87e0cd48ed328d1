"""Scrapy extensions: whole-crawl behaviour hooked on signals."""
