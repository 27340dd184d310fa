"""Customer groups (客户分组) at the desk page, in a real browser at 1366×768 with the
modem simulator over a real pty: a group is created, two customers are ticked into it
at once, a non-empty group is not deleted, 短信群发 to the group reaches both phones,
and the card and the call pop-up show and edit 所属客户分组, 会员等级 and 备注."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from .kiosk_world import RunningKiosk, open_desk_page

pytestmark = pytest.mark.e2e

KIOSK_TRANSPORT = "pty"


@pytest.fixture
def page(browser: Any, kiosk: RunningKiosk) -> Iterator[Page]:
    yield from open_desk_page(browser, kiosk)


def _customer(kiosk: RunningKiosk, phone: str, name: str) -> int:
    customer, _ = kiosk.run(kiosk.desk.customers.capture(phone))
    kiosk.run(kiosk.desk.customers.update(customer.id, name=name))
    return customer.id


def test_a_group_gets_two_customers_and_a_bulk_sms_reaches_both(
    page: Page, kiosk: RunningKiosk
) -> None:
    _customer(kiosk, "13800138000", "张三")
    _customer(kiosk, "13900139000", "李四")
    wang = _customer(kiosk, "13700137000", "王五")

    page.get_by_role("tab", name="客户分组").click()
    panel = page.locator('[data-panel="groups"]')
    expect(panel.locator("#groups tbody")).to_have_text("暂无客户分组，请先新建")
    panel.get_by_label("分组名称").fill("老顾客")
    panel.get_by_role("button", name="保存").click()
    expect(panel.locator("#group-result")).to_have_text("已新建分组：老顾客")
    expect(panel.locator("#groups tbody tr")).to_have_text(re.compile("老顾客0"))

    # Two customers ticked in the book go into the group at once.
    page.get_by_role("tab", name="客户资料").click()
    page.get_by_label("选择 张三").check()
    page.get_by_label("选择 李四").check()
    page.get_by_label("选择分组").select_option(label="老顾客")
    page.get_by_role("button", name="加入分组").click()
    expect(page.locator("#assign-result")).to_have_text(
        "已将 2 位客户加入分组“老顾客”（该组现有 2 位）"
    )

    page.get_by_role("tab", name="客户分组").click()
    row = panel.locator("#groups tbody tr")
    expect(row).to_have_text(re.compile("老顾客2"))
    row.get_by_role("button", name="查看").click()
    expect(panel.locator("#group-members-title")).to_have_text("分组“老顾客”的客户（2 位）")
    expect(panel.locator("#group-members li")).to_have_text(
        [re.compile("张三 · 13800138000"), re.compile("李四 · 13900139000")]
    )
    # A group with customers is not deleted: the desk is told why.
    row.get_by_role("button", name="删除").click()
    expect(panel.locator("#group-result")).to_contain_text(
        "分组“老顾客”中还有 2 位客户，请先将他们移出该分组再删除"
    )
    expect(row).to_have_count(1)

    # 短信群发 from the group: the group is filled in, both phones get their text.
    row.get_by_role("button", name="短信群发").click()
    sms = page.locator('[data-panel="sms"]')
    expect(sms).to_be_visible()
    expect(sms.locator("#sms-groups")).to_have_value("老顾客")
    expect(sms.locator("#sms-numbers")).to_have_value("")
    sms.locator("#sms-template").fill("{name}您好，周末会员日全场88折")
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    sms.get_by_role("button", name="发送", exact=True).click()
    # (An expect lets Playwright answer the confirmation; a plain sleep would not.)
    expect(sms.locator("#sms-summary")).to_contain_text("已提交 2 条")
    kiosk.wait_for_sms(2)
    assert asked == ["确定发送给 2 位顾客吗？（共 2 条短信）"]
    texts = {s.recipient: s.text or "" for s in kiosk.sim.sent}
    assert set(texts) == {"13800138000", "13900139000"}
    assert "张三您好" in texts["13800138000"] and "李四您好" in texts["13900139000"]
    assert "13700137000" not in texts
    assert kiosk.run(kiosk.desk.customers.get(wang)).groups == ()

    # 右键 the group: its menu has 短信群发 too (as the brief's desk software).
    page.get_by_role("tab", name="客户分组").click()
    row.click(button="right")
    menu = page.get_by_role("menu", name="分组“老顾客”")
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    row.click(button="right")
    menu.get_by_role("menuitem", name="短信群发").click()
    expect(menu).to_be_hidden()
    expect(sms).to_be_visible()
    expect(sms.locator("#sms-groups")).to_have_value("老顾客")

    # Renamed, the group keeps its customers.
    page.get_by_role("tab", name="客户分组").click()
    row.get_by_role("button", name="重命名").click()
    expect(panel.locator("#group-form-title")).to_have_text("重命名分组：老顾客")
    panel.get_by_label("分组名称").fill("VIP")
    panel.get_by_role("button", name="保存").click()
    expect(row).to_have_text(re.compile("VIP2"))


def test_ticks_in_the_customer_book_survive_the_list_being_drawn_again(
    page: Page, kiosk: RunningKiosk
) -> None:
    _customer(kiosk, "13800138000", "张三")
    _customer(kiosk, "13900139000", "李四")
    page.get_by_role("tab", name="客户分组").click()
    page.locator('[data-panel="groups"]').get_by_label("分组名称").fill("老顾客")
    page.locator('[data-panel="groups"]').get_by_role("button", name="保存").click()
    expect(page.locator("#group-result")).to_have_text("已新建分组：老顾客")
    page.get_by_role("tab", name="客户资料").click()
    expect(page.get_by_label("选择 张三")).to_be_visible()
    # Staff tick 张三 while the book's list is being fetched again (a tab visit does it).
    held: list[Route] = []
    released: list[bool] = []

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/api/desk/customers\?"), lambda route: hold(route))
    page.get_by_role("tab", name="客户分组").click()
    page.get_by_role("tab", name="客户资料").click()
    page.get_by_label("选择 张三").check()
    page.wait_for_timeout(100)
    assert held, "the tab visit fetched the list"
    page.eval_on_selector_all("#results input", "boxes => boxes.forEach(b => b.dataset.old = 1)")
    released.append(True)
    for route in held:
        route.continue_()
    expect(page.locator("#results input[data-old]")).to_have_count(0)  # drawn again
    expect(page.get_by_label("选择 张三")).to_be_checked()
    page.get_by_label("选择 李四").check()
    page.get_by_label("选择分组").select_option(label="老顾客")
    page.get_by_role("button", name="加入分组").click()
    expect(page.locator("#assign-result")).to_have_text(
        "已将 2 位客户加入分组“老顾客”（该组现有 2 位）"
    )


def test_the_card_and_the_pop_up_edit_groups_level_and_notes(
    page: Page, kiosk: RunningKiosk
) -> None:
    zhang = _customer(kiosk, "13800138000", "张三")
    kiosk.run(kiosk.desk.groups.create("老顾客"))
    kiosk.run(kiosk.desk.groups.create("外卖"))
    kiosk.run(kiosk.desk.customers.add_level("金卡", "0.88"))

    # The customer card: gender, company, type, level, groups and notes.
    page.get_by_role("tab", name="客户资料").click()
    page.get_by_text("张三 · 13800138000").click()
    card = page.locator("#card-form")
    expect(card.get_by_label("老顾客")).not_to_be_checked()
    card.get_by_label("性别").select_option(label="男")
    card.get_by_label("单位").fill("某某公司")
    card.get_by_label("客户类型").fill("散客")
    card.get_by_label("会员等级").select_option(label="金卡（8.8折）")
    card.get_by_label("老顾客").check()
    card.get_by_label("备注").fill("爱吃辣")
    card.get_by_role("button", name="保存").click()
    expect(page.locator("#toast")).to_have_text("已保存")
    saved = kiosk.run(kiosk.desk.customers.get(zhang))
    assert (saved.gender, saved.company, saved.customer_type, saved.notes) == (
        "男",
        "某某公司",
        "散客",
        "爱吃辣",
    )
    assert saved.level is not None and saved.level.name == "金卡"
    assert saved.groups == ("老顾客",)

    # The call pop-up shows the same and edits it during the call.
    kiosk.sim.incoming_call("13800138000")
    popup = page.get_by_role("dialog")
    expect(popup).to_contain_text("张三 · 老客户", timeout=5000)
    expect(popup.get_by_label("老顾客")).to_be_checked()
    expect(popup.get_by_label("外卖")).not_to_be_checked()
    expect(popup.get_by_label("会员等级")).to_have_value(str(saved.level.id))
    expect(popup.get_by_label("备注", exact=True)).to_have_value("爱吃辣")
    popup.get_by_label("外卖").check()
    popup.get_by_label("老顾客").uncheck()
    popup.get_by_label("备注", exact=True).fill("爱吃辣，不要香菜")
    popup.get_by_label("会员等级").select_option(label="非会员")
    popup.get_by_role("button", name="保存").click()
    expect(popup.locator("#popup-saved")).to_have_text("已保存")
    after = kiosk.run(kiosk.desk.customers.get(zhang))
    assert after.groups == ("外卖",)
    assert after.notes == "爱吃辣，不要香菜" and after.level is None
    # The whole pop-up fits the 1366×768 desk screen's width and its save is reachable.
    box = popup.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1366


def test_a_caller_who_rings_back_does_not_wipe_what_the_desk_was_typing(
    page: Page, kiosk: RunningKiosk
) -> None:
    zhang = _customer(kiosk, "13800138000", "张三")
    kiosk.run(kiosk.desk.groups.create("外卖"))

    kiosk.sim.incoming_call("13800138000")
    popup = page.get_by_role("dialog")
    expect(popup).to_contain_text("张三 · 老客户")
    expect(popup.get_by_label("外卖")).not_to_be_checked()
    popup.get_by_label("外卖").check()
    popup.get_by_label("备注", exact=True).fill("不要香菜")
    popup.get_by_label("沟通内容").fill("问包间")

    # The caller gives up before anyone answers and calls straight back.
    kiosk.sim.remote_hangup()
    expect(popup.locator("#popup-state")).to_have_text("未接来电")
    kiosk.sim.incoming_call("13800138000")
    expect(popup.locator("#popup-state")).to_have_text("")
    expect(popup).to_contain_text("张三 · 老客户")
    expect(popup.get_by_label("外卖")).to_be_checked()
    expect(popup.get_by_label("备注", exact=True)).to_have_value("不要香菜")
    expect(popup.get_by_label("沟通内容")).to_have_value("问包间")

    popup.get_by_role("button", name="保存").click()
    expect(popup.locator("#popup-saved")).not_to_have_text("")
    after = kiosk.run(kiosk.desk.customers.get(zhang))
    assert after.groups == ("外卖",) and after.notes == "不要香菜"
