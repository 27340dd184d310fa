"""Password hashing with Argon2id (memory-hard), run off the event loop."""

from __future__ import annotations

import anyio.to_thread
import attrs
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["PasswordHashing"]


@attrs.frozen
class PasswordHashing:
    """Argon2id parameters; the defaults follow RFC 9106's second recommendation."""

    time_cost: int = 3
    memory_cost_kib: int = 65_536
    parallelism: int = 4

    def _hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_cost_kib,
            parallelism=self.parallelism,
        )

    async def hash(self, password: str) -> str:
        """The encoded hash of ``password``."""
        return await anyio.to_thread.run_sync(self._hasher().hash, password)

    async def verify(self, encoded: str, password: str) -> bool:
        """Whether ``password`` matches ``encoded``; a malformed hash never matches."""

        def check() -> bool:
            try:
                return self._hasher().verify(encoded, password)
            except (VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check)
