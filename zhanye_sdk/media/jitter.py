"""The adaptive audio jitter buffer the receivers use: the native core's, or its twin
(``zhanye_sdk.kernels.jitter``, which documents the policy) without the native module."""

from __future__ import annotations

from zhanye_sdk._backend import AdaptiveJitterBuffer

__all__ = ["AdaptiveJitterBuffer"]
