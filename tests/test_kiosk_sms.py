"""SMS at the desk page in a real browser at 1366×768, the modem simulator on a real pty:
the template library (选择, 保存, 存为新模板, 删除), the contact picker for bulk SMS, a
confirmation with the head count before anything is sent, received messages shown in the
inbox and on the customer's card, and a 退订/TD reply that puts the number on the opt-out
list (the next bulk send skips it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

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


def test_templates_contacts_confirmation_inbox_and_opt_out(page: Page, kiosk: RunningKiosk) -> None:
    zhang = _customer(kiosk, "13800138000", "张三")
    li = _customer(kiosk, "13900139000", "李四")
    page.get_by_role("tab", name="群发短信").click()
    sms = page.locator('[data-panel="sms"]')

    # The library: a classic fills the message; edited and saved; a new one; deleted.
    library = sms.get_by_label("常用模板")
    expect(library.locator("option")).to_have_count(4)
    library.select_option(label="降价优惠")
    text = sms.locator("#sms-template")
    expect(text).to_have_value("{name}您好，本周会员日全场8.8折，欢迎光临！")
    text.fill("{name}您好，本周会员日全场8.5折！")
    sms.get_by_role("button", name="保存到所选模板").click()
    expect(page.locator("#library-result")).to_have_text("模板已保存：降价优惠")
    text.fill("{name}您好，小馆祝您新春快乐！")
    sms.get_by_role("button", name="存为新模板").click()
    # The name is asked in a dialog: none is refused there, a name in use too.
    naming = page.get_by_role("dialog", name="存为新模板")
    naming.get_by_role("button", name="保存").click()
    expect(naming.locator("#template-dialog-result")).to_have_text("请填写模板名称")
    naming.get_by_label("模板名称").fill("降价优惠")
    naming.get_by_role("button", name="保存").click()
    expect(naming.locator("#template-dialog-result")).to_contain_text(
        "已有名为“降价优惠”的短信模板"
    )
    expect(naming).to_be_visible()
    naming.get_by_label("模板名称").fill("春节祝福")
    naming.get_by_role("button", name="保存").click()
    expect(naming).to_be_hidden()
    expect(page.locator("#library-result")).to_have_text("模板已保存：春节祝福")
    expect(library.locator("option")).to_have_count(5)
    page.once("dialog", lambda dialog: dialog.accept())
    sms.get_by_role("button", name="删除所选模板").click()
    expect(page.locator("#library-result")).to_have_text("模板已删除：春节祝福")
    library.select_option(label="降价优惠")
    expect(text).to_have_value("{name}您好，本周会员日全场8.5折！")

    # The contact picker: 张三 and 李四 ticked from the book.
    sms.get_by_role("button", name="选择联系人").click()
    picker = page.get_by_role("dialog", name="选择联系人")
    picker.get_by_role("searchbox").fill("张")
    expect(picker.locator("#contacts-list li")).to_have_count(1)
    picker.get_by_label("张三 · 13800138000").check()
    picker.get_by_role("searchbox").fill("李")
    expect(picker.locator("#contacts-list li")).to_have_text("李四 · 13900139000")
    picker.get_by_label("李四 · 13900139000").check()
    picker.get_by_role("searchbox").fill("")
    expect(picker.locator("#contacts-list li")).to_have_count(2)
    expect(picker.get_by_label("张三 · 13800138000")).to_be_checked()  # kept while searching
    picker.get_by_role("button", name="加入收件人").click()
    expect(picker).to_be_hidden()
    expect(sms.locator("#sms-numbers")).to_have_value("13800138000，13900139000")

    # Nothing goes out until the desk confirms the head count.
    # (Answered from the handler: a click that opens a dialog returns once it is answered.)
    asked: list[str] = []

    def decline(confirmation: Dialog) -> None:
        asked.append(confirmation.message)
        confirmation.dismiss()

    page.once("dialog", decline)
    sms.get_by_role("button", name="发送", exact=True).click()
    for _ in range(200):  # the handler runs while Playwright waits (10 s at most)
        if asked:
            break
        page.wait_for_timeout(50)
    assert asked == ["确定发送给 2 位顾客吗？（共 2 条短信）"]
    expect(sms.locator("#sms-summary")).to_have_text("")
    assert kiosk.sim.sent == []
    page.once("dialog", lambda dialog: dialog.accept())
    sms.get_by_role("button", name="发送", exact=True).click()
    expect(sms.locator("#sms-summary")).to_have_text(
        "已提交 2 条，失败 0 条，跳过 0 条（含退订 0）"
    )
    kiosk.wait_for_sms(2)

    # Replies: shown at once in the inbox; 李四's TD opts them out.
    kiosk.sim.receive_sms("+8613800138000", "周六还有包间吗？")
    expect(page.locator("#toast")).to_have_text("收到 张三 的短信：周六还有包间吗？")
    inbox = sms.locator("#inbox li")
    expect(inbox.first).to_contain_text("张三 13800138000：周六还有包间吗？")
    kiosk.sim.receive_sms("13900139000", "TD")
    expect(page.locator("#toast")).to_have_text("李四 回复退订，已加入退订名单")
    expect(inbox.first).to_contain_text("李四 13900139000：TD · 已退订（不再发送营销短信）")
    assert kiosk.run(kiosk.desk.customers.get(li)).opted_out
    assert not kiosk.run(kiosk.desk.customers.get(zhang)).opted_out

    # The next bulk send skips 李四.
    text.fill("{name}您好，周日新品上市！")
    page.once("dialog", lambda dialog: dialog.accept())
    sms.get_by_role("button", name="发送", exact=True).click()
    expect(sms.locator("#sms-summary")).to_have_text(
        "已提交 1 条，失败 0 条，跳过 1 条（含退订 1）"
    )
    kiosk.wait_for_sms(3)
    assert kiosk.sim.sent[2].recipient == "13800138000"

    # 张三's card shows what they wrote.
    page.get_by_role("tab", name="客户资料").click()
    page.locator("#search").fill("张三")
    page.locator("#results li", has_text="张三").click()
    expect(page.locator("#card-inbox")).to_contain_text("周六还有包间吗？")
