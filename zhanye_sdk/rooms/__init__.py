"""Sessions (会话): the room state machine, its wire format and its services."""

__all__ = []
