"""Pure numpy twins of the native kernels.

Each module here implements, bit for bit, the arithmetic of the matching Rust module
in ``zhanye_sdk_native/src``. They are used when the native extension is missing or
disabled (``ZHANYE_SDK_NATIVE=0``); import the kernels through ``zhanye_sdk`` (or
``zhanye_sdk._backend``), not from here.
"""

__all__ = []
