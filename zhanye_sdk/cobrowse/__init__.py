"""Co-browsing of H5 product pages (同屏): the page log, control hand-over, resync."""

__all__: list[str] = []
