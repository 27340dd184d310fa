"""Scale-out, end to end: an export requested of a host process that is then killed
(``kill -9``) is finished and served by another (real PostgreSQL, Redis and two
``python -m hosts.web --redis …`` processes).

The job is a row any process may run: the survivor reports its progress and serves the
file, whether the dead process had finished it or left it half done (then its claim
lapses and the survivor runs it again; that path, step by step, is in
``tests/test_cluster_relay_exports.py``).
"""

from __future__ import annotations

import aiohttp
import anyio
import pytest

from zhanye_sdk.platform.config import PlatformConfig

from .cluster_hosts import Hosts
from .platform_world import PASSWORD, build_world

pytestmark = pytest.mark.anyio


async def test_an_export_outlives_the_process_that_took_the_request(
    hosts: Hosts, fast_config: PlatformConfig
) -> None:
    world = await build_world(hosts.db_url, fast_config)
    await world.platform.close()
    hosts.start_serving("a", "b")
    first, survivor = hosts.url("a"), hosts.url("b")

    async with aiohttp.ClientSession() as http:
        login = await (
            await http.post(f"{first}/api/login", json={"login": "sp-A1", "password": PASSWORD})
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        started = await http.post(f"{first}/api/sessions", json={"title": "养老规划"}, headers=auth)
        session = await started.json()
        asked = await http.post(f"{first}/api/records/export", json={"format": "csv"}, headers=auth)
        assert asked.status == 202, await asked.text()
        job = await asked.json()
        hosts.kill("a")

        with anyio.fail_after(60):
            while True:
                status = await (
                    await http.get(f"{survivor}/api/records/export/{job['id']}", headers=auth)
                ).json()
                assert status.get("state") in ("queued", "running", "done"), status
                if status["state"] == "done":
                    break
                await anyio.sleep(0.3)
        assert status["done"] == status["total"] == 1
        download = await http.get(f"{survivor}/api/records/export/{job['id']}/file", headers=auth)
        assert download.status == 200
        text = (await download.read()).decode("utf-8-sig")
        assert session["meeting_number"] in text and "养老规划" in text
