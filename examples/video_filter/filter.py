"""The web host with the 美颜 beauty filter on the server path (see README.md)."""

from __future__ import annotations

import argparse

from aiohttp import web

from hosts.web.server import web_app
from zhanye_sdk import Deployment, DeploymentConfig, MediaConfig, Platform
from zhanye_sdk.media.beauty import BeautyFilter


def deployment_config(db: str, *, strength: float = 0.6, brighten: float = 0.0) -> DeploymentConfig:
    """The deployment's settings: every received video frame goes through ``BeautyFilter``
    (skin smoothed by ``strength``, lifted by ``brighten``, both 0–1) before it is relayed
    and recorded.

    Raises:
        ValueError: a level is outside 0–1.
    """
    beauty = BeautyFilter(strength=strength, brighten=brighten)
    return DeploymentConfig(database_url=db, media=MediaConfig(video_filter=beauty))


async def make_app(db: str, *, strength: float = 0.6, brighten: float = 0.0) -> web.Application:
    """The web host's application over the platform in ``db``, with the filter on."""
    config = deployment_config(db, strength=strength, brighten=brighten)
    platform = await Platform.open(db)
    return web_app(Deployment(config, platform))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite:///var/zhanye.db")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--strength", type=float, default=0.6, help="skin smoothing, 0–1")
    parser.add_argument("--brighten", type=float, default=0.0, help="skin lifting, 0–1")
    args = parser.parse_args()
    try:
        deployment_config(args.db, strength=args.strength, brighten=args.brighten)
    except ValueError as exc:
        parser.error(str(exc))
    app = make_app(args.db, strength=args.strength, brighten=args.brighten)
    web.run_app(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
