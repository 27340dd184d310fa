"""Signaling: the versioned JSON envelope, the bus between processes, the WebSocket endpoint."""

__all__ = []
