"""What every endpoint group shares: answering only its own paths, and who is asking."""

from __future__ import annotations

from zhanye_sdk.api.http import ApiRequest, ApiResponse, BodyLimit, Router, bearer_token
from zhanye_sdk.facade import Platform
from zhanye_sdk.platform.roles import Principal

__all__ = ["EndpointGroup"]


class EndpointGroup:
    """Base of an area's endpoints: set ``platform`` and ``router`` in ``__init__``."""

    platform: Platform
    router: Router

    async def handle(self, request: ApiRequest) -> ApiResponse | None:
        """Answer a request for these endpoints; None when the path is not theirs."""
        if not self.router.handles(request.path):
            return None
        return await self.router.dispatch(request)

    def body_limit(self, method: str, path: str) -> BodyLimit | None:
        """What request body the route for ``method``/``path`` accepts; None: not ours."""
        if not self.router.handles(path):
            return None
        return self.router.body_limit(method, path)

    async def _actor(self, request: ApiRequest) -> Principal:
        """The staff member behind the request's bearer token."""
        return await self.platform.auth.authenticate(bearer_token(request))
