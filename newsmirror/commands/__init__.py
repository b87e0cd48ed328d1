"""Project commands (COMMANDS_MODULE): Scrapy's, with start-up checks."""
