"""The web host with an identity video filter on the server path (see README.md)."""

from __future__ import annotations

import argparse

import av
from aiohttp import web

from hosts.web.server import web_app
from zhanye_sdk import Deployment, DeploymentConfig, MediaConfig, Platform


def identity(participant_id: str, frame: av.VideoFrame) -> av.VideoFrame:
    """Returns the frame unchanged: replace the body with a real filter."""
    return frame


async def make_app(db: str) -> web.Application:
    platform = await Platform.open(db)
    config = DeploymentConfig(database_url=db, media=MediaConfig(video_filter=identity))
    return web_app(Deployment(config, platform))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite:///var/zhanye.db")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(make_app(args.db), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
