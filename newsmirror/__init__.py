"""newsmirror: mirror news sites as Markdown pages with QR codes."""

# Here, not only in the package metadata: a checkout with only the
# requirements installed, or a scrapyd egg, has no metadata to read.
__version__ = "1.0.0"
