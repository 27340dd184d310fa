"""Run the web host: ``python -m hosts.web --db sqlite:///zhanye.db --port 8080``."""

from __future__ import annotations

import argparse

from aiohttp import web

from hosts.web.server import build_app
from zhanye_sdk.platform import Platform


def main() -> None:
    parser = argparse.ArgumentParser(description="zhanye-sdk example web host")
    parser.add_argument("--db", default="sqlite:///var/zhanye.db", help="database URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()

    async def app() -> web.Application:
        platform = await Platform.open(args.db)
        application = build_app(platform)

        async def close(_: web.Application) -> None:
            await platform.close()

        application.on_cleanup.append(close)
        return application

    print(f"zhanye web host on http://{args.host}:{args.port}/  (database {args.db})")
    web.run_app(app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
