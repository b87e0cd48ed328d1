"""An identifying User-Agent built from the CONTACT_URL setting.

An add-on, because add-ons see the final settings (-s, scrapyd's setting=)
before they freeze: `-s CONTACT_URL=...` alone changes the User-Agent, and
an explicit USER_AGENT (project or command line) still wins over this one.
"""
from __future__ import annotations

import newsmirror


class ContactUserAgent:
    def update_settings(self, settings) -> None:
        settings.set("USER_AGENT", f"{settings['BOT_NAME']}/"
                     f"{newsmirror.__version__} (+{settings['CONTACT_URL']})",
                     priority="addon")
