"""Whiteboard and document sharing: the sans-I/O board, its wire format, its service."""

__all__: list[str] = []
