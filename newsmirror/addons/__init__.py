"""Scrapy add-ons: settings derived from other settings before they freeze."""
