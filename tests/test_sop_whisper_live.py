"""The SOP assistant hears a real voice: headless Chromium's fake microphone plays a real
Mandarin recording into a live session; the built-in Whisper recogniser hears it over
real WebRTC and the salesperson's checklist ticks the node whose key phrase was said —
with the recognised text, the speaker and the time kept in the session's record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from playwright.sync_api import expect, sync_playwright

from zhanye_sdk.platform import PasswordHashing, PlatformConfig
from zhanye_sdk.platform.config import MaterialSettings
from zhanye_sdk.records import RecordService
from zhanye_sdk.signaling.endpoint import SignalingConfig
from zhanye_sdk.sop.live import SopLiveConfig
from zhanye_sdk.sop.whisper import whisper_recogniser

from . import material_files
from .hall_pages import open_hall, share_file
from .media_world import LOOPBACK_MEDIA, launch_chromium
from .platform_world import World, build_world
from .test_sop_whisper import edit_distance, spoken_wav
from .webhost import DEPLOYMENT, RunningHost

pytestmark = pytest.mark.e2e

BROCHURE = "市场观察.pdf"
#: What the recording says is 甚至出现交易几乎停滞的情况; Whisper writes 停制 for 停滞, a
#: homophone the matcher's pinyin channel takes.
KEY_PHRASE = "交易几乎停滞"


@pytest.fixture(scope="module")
def speaking_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium whose fake microphone says the AISHELL sentence, then is quiet (looped)."""
    wav = spoken_wav(tmp_path_factory.mktemp("speech") / "speech48k.wav", 2)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, microphone_wav=wav)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RunningHost]:
    config = PlatformConfig(
        passwords=PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1),
        materials=MaterialSettings(storage_root=tmp_path / "m"),
    )

    async def make() -> tuple[Any, World]:
        world = await build_world(f"sqlite:///{tmp_path}/web.db", config)
        admin, sop = world.p("ca_A"), world.platform.sop
        brochure = await world.platform.materials.upload_file(
            admin, BROCHURE, material_files.pdf(2)
        )
        flow = await sop.create_flow(
            admin,
            "市场讲解",
            [
                {"id": "market", "title": "市场情况", "key_phrases": [KEY_PHRASE], "pages": "1"},
                {"id": "cool", "title": "犹豫期说明", "key_phrases": ["犹豫期"]},
            ],
            material_id=brochure.id,
        )
        await sop.save_template(admin, "市场讲解模板", [flow.id], [world.ids["A1"]])
        return world.platform, world

    running = RunningHost(
        make,
        signaling_config=SignalingConfig(leave_grace_s=1, tick_interval_s=0.5),
        media_config=LOOPBACK_MEDIA,
        sop_config=SopLiveConfig(recogniser=whisper_recogniser()),
    ).start()
    try:
        yield running
    finally:
        running.stop()


def test_a_spoken_key_phrase_ticks_its_node_and_is_kept_in_the_record(
    speaking_browser: Any, host: RunningHost
) -> None:
    context = speaking_browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        staff = open_hall(context, host)
        share_file(staff, BROCHURE)
        panel = staff.locator("#sop-panel")
        market = panel.locator('[data-node="market"]')
        expect(market).to_have_attribute("data-done", "false")
        # Heard over WebRTC, endpointed, recognised off the loop: the node ticks.
        expect(market).to_have_attribute("data-done", "true", timeout=60_000)
        expect(panel.locator('[data-node="cool"]')).to_have_attribute("data-done", "false")
        session_id = staff.url.rsplit("/", 1)[1]
        world: World = host.extra
        salesperson = world.p("sp_A1")
        host.run(host.app[DEPLOYMENT].rooms.end(salesperson, session_id))
        records = RecordService(world.platform, host.app[DEPLOYMENT].rooms)

        async def steps() -> list[Any]:
            for _ in range(300):
                record = await records.get(salesperson, session_id)
                if record.sop_steps:
                    return record.sop_steps
                await anyio.sleep(0.1)
            raise AssertionError("the record has no SOP execution table")

        by_title = {step.level1: step for step in host.run(steps())}
        said = by_title["市场情况"]
        assert said.status == "executed"
        assert said.role == "salesperson"
        assert said.speaker
        # The words heard where the phrase was matched, as recognised (a character may be
        # missing or misheard: the matcher's edit and pinyin channels take those).
        assert said.text is not None and edit_distance(said.text, KEY_PHRASE) <= 2, said
        assert said.time_ms is not None and said.time_ms >= 0
        assert by_title["犹豫期说明"].status == "missed"
    finally:
        context.close()
