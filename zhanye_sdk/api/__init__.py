"""HTTP endpoints the SDK offers to hosts, independent of any web framework.

A host turns its framework's request into an ``ApiRequest``, calls
``AdminApi.handle`` and writes the ``ApiResponse`` back (see ``hosts/web``).
"""

from typing import TYPE_CHECKING, Any

from zhanye_sdk.api.http import ApiError, ApiRequest, ApiResponse

if TYPE_CHECKING:
    from zhanye_sdk.api.admin import AdminApi

__all__ = ["AdminApi", "ApiError", "ApiRequest", "ApiResponse"]


def __getattr__(name: str) -> Any:
    # AdminApi is a capability, and capabilities import this package's router: loading
    # it on first use keeps `import zhanye_sdk.capability` free of a cycle.
    if name == "AdminApi":
        from zhanye_sdk.api.admin import AdminApi

        return AdminApi
    raise AttributeError(name)
