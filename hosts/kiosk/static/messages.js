// The kiosk's message catalogue: Simplified Chinese first, English second.
export const MESSAGES = {
  "zh-CN": {
    title: "商户管家",
    incoming: "来电",
    unknown: "未知客户",
    known: "老客户",
    answer: "接听",
    hangup: "挂断",
    reserve: "预订",
    close: "关闭",
    missed: "未接来电",
    ended: "通话结束",
    recentCalls: "最近来电",
    upcoming: "即将到店",
    none: "无",
    resource: "包间/桌位",
    time: "到店时间",
    hours: "用餐时长（小时）",
    party: "人数",
    confirm: "确认预订",
    confirmed: "预订成功，已发送确认短信：{sms}",
    search: "搜索客户（姓名/号码/拼音首字母）",
    name: "姓名",
    birthday: "生日",
    notes: "备注",
    save: "保存",
    saved: "已保存",
    autoSms: "已自动发送短信给 {number}",
    error: "操作失败：{detail}",
  },
  en: {
    title: "Merchant desk",
    incoming: "Incoming call",
    unknown: "Unknown number",
    known: "Regular customer",
    answer: "Answer",
    hangup: "Hang up",
    reserve: "Reserve",
    close: "Close",
    missed: "Missed call",
    ended: "Call ended",
    recentCalls: "Recent calls",
    upcoming: "Upcoming visits",
    none: "None",
    resource: "Room / table",
    time: "Arrival",
    hours: "Hours",
    party: "Party size",
    confirm: "Book",
    confirmed: "Booked; confirmation SMS sent: {sms}",
    search: "Find a customer (name, number, pinyin initials)",
    name: "Name",
    birthday: "Birthday",
    notes: "Notes",
    save: "Save",
    saved: "Saved",
    autoSms: "Automatic SMS sent to {number}",
    error: "That did not work: {detail}",
  },
};

const lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "zh-CN";

export function t(key, params = {}) {
  const text = MESSAGES[lang][key] ?? MESSAGES["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

export function translate(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll("[data-t-placeholder]")) el.placeholder = t(el.dataset.tPlaceholder);
}
