"""Real-time media: frame conversions, mixing, compositing and recording."""

__all__ = []
