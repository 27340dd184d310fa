"""HTTP endpoints the SDK offers to hosts, independent of any web framework.

A host turns its framework's request into an ``ApiRequest``, calls
``AdminApi.handle`` and writes the ``ApiResponse`` back (see ``hosts/web``).
"""

from zhanye_sdk.api.admin import AdminApi
from zhanye_sdk.api.http import ApiError, ApiRequest, ApiResponse

__all__ = ["AdminApi", "ApiError", "ApiRequest", "ApiResponse"]
