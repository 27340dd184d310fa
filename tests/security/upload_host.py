"""A web host in a process of its own, for measuring what one upload costs it in memory.

Run as ``python -m tests.security.upload_host <folder> <port>``: a platform in
``<folder>/web.db`` with the super admin ``root`` and the company admin ``ca-upload`` (both with
``PASSWORD``), served on 127.0.0.1:<port>; it prints ``ready`` once it listens.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from zhanye_sdk import Platform
from zhanye_sdk.platform import PasswordHashing, PlatformConfig, Role

from ..webhost import build_app

PASSWORD = "Kv8-upload-host"


async def serve(folder: str, port: int) -> None:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)
    )
    platform = await Platform.open(f"sqlite:///{folder}/web.db", config=config)
    await platform.auth.bootstrap_super_admin("root", PASSWORD, "平台管理员")
    root = await platform.auth.authenticate((await platform.auth.login("root", PASSWORD)).token)
    company = await platform.companies.create(root, "上传银行")
    await platform.accounts.create(
        root,
        login="ca-upload",
        name="公司管理员",
        password=PASSWORD,
        role=Role.COMPANY_ADMIN,
        company_id=company.id,
    )
    runner = web.AppRunner(build_app(platform))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
