"""newsmirror: mirror news sites as Markdown pages with QR codes."""
