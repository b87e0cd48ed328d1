"""Running one crawl on several machines: REDIS_URL switches to a shared Redis scheduler."""
