// zhanye co-browse replayer: rebuilds the customer's page inside a sandboxed iframe
// (no scripts run in it), applies the page events in order, draws the customer's
// trail, and — when this side holds control — turns the operator's typing and clicks
// into inputs for the customer's page.

const SAFE_URL = /^(https?:|data:image\/|#|\/|\.|[^:]*$)/i;

export class Replayer {
  constructor(iframe, { onOperate } = {}) {
    this.iframe = iframe;
    this.onOperate = onOperate;
    this.nodes = new Map();
    this.masked = new Set();
    this.canOperate = false;
    this.viewport = { w: 375, h: 667 };
  }

  get doc() {
    return this.iframe.contentDocument;
  }

  reset(snapshot) {
    this.nodes.clear();
    this.masked = new Set(snapshot.masked || []);
    const doc = this.doc;
    doc.open();
    doc.write("<!doctype html>");
    doc.close();
    const root = this.build(snapshot.root, doc);
    doc.replaceChild(root, doc.documentElement);
    const base = doc.createElement("base");
    base.href = snapshot.url;
    (doc.head || root).prepend(base);
    const style = doc.createElement("style");
    style.textContent = ".zhanye-trail{position:fixed;width:10px;height:10px;margin:-5px 0 0 -5px;border-radius:50%;background:rgba(31,111,235,.6);pointer-events:none;z-index:2147483647}.zhanye-click{background:rgba(209,36,47,.8);width:16px;height:16px;margin:-8px 0 0 -8px}";
    (doc.head || root).append(style);
    this.setViewport(snapshot.viewport || this.viewport);
    if (snapshot.scroll) this.iframe.contentWindow.scrollTo(snapshot.scroll.x, snapshot.scroll.y);
    this.attachOperator();
  }

  build(item, doc) {
    if ("text" in item) {
      const text = doc.createTextNode(item.text);
      this.nodes.set(item.id, text);
      return text;
    }
    const el = doc.createElement(item.tag);
    for (const [name, value] of Object.entries(item.attrs || {})) {
      if (name.startsWith("on")) continue;
      if ((name === "href" || name === "src" || name === "action") && !SAFE_URL.test(value.trim())) continue;
      try {
        el.setAttribute(name, value);
      } catch {
        // an attribute name the DOM refuses; the mirror skips it
      }
    }
    if (item.tag === "script" || item.tag === "iframe") el.removeAttribute("src");
    if (item.masked) {
      el.dataset.zhanyeMasked = "";
      this.masked.add(item.id);
    }
    el.dataset.zhanyeId = String(item.id);
    for (const child of item.children || []) el.append(this.build(child, doc));
    // After the children: a select only takes a value one of its options has.
    if ("value" in item) el.value = item.value;
    if ("checked" in item) el.checked = item.checked;
    this.nodes.set(item.id, el);
    return el;
  }

  setViewport({ w, h }) {
    this.viewport = { w, h };
    this.iframe.style.width = `${w}px`;
    this.iframe.style.height = `${h}px`;
    this.iframe.dispatchEvent(new CustomEvent("zhanye-viewport", { bubbles: true, detail: { w, h } }));
  }

  apply(kind, data) {
    const doc = this.doc;
    if (kind === "mutation") {
      for (const id of data.removes || []) this.nodes.get(id)?.remove();
      for (const { parent, next, node } of data.adds || []) {
        const holder = this.nodes.get(parent);
        if (!holder) continue;
        const built = this.build(node, doc);
        const before = next === null ? null : this.nodes.get(next) || null;
        holder.insertBefore(built, before && before.parentNode === holder ? before : null);
      }
      for (const { node, name, value } of data.attrs || []) {
        const el = this.nodes.get(node);
        if (!el || name.startsWith("on")) continue;
        if (value === null) el.removeAttribute(name);
        else el.setAttribute(name, value);
      }
      for (const { node, text } of data.texts || []) {
        const target = this.nodes.get(node);
        if (target) target.data = text;
      }
      for (const id of data.masked || []) this.masked.add(id);
    } else if (kind === "input") {
      const el = this.nodes.get(data.node);
      if (!el) return;
      if ("checked" in data) el.checked = data.checked;
      else el.value = data.value ?? "";
    } else if (kind === "scroll") {
      const target = data.node ? this.nodes.get(data.node) : null;
      if (target && target.scrollTo) target.scrollTo(data.x || 0, data.y || 0);
      else this.iframe.contentWindow.scrollTo(data.x || 0, data.y || 0);
    } else if (kind === "viewport") {
      this.setViewport(data);
    } else if (kind === "pointer" || kind === "click") {
      this.mark(data, kind === "click");
    }
  }

  mark({ x, y }, click) {
    const doc = this.doc;
    if (!doc.body) return;
    const dot = doc.createElement("div");
    dot.className = `zhanye-trail${click ? " zhanye-click" : ""}`;
    dot.style.left = `${x}px`;
    dot.style.top = `${y}px`;
    doc.body.append(dot);
    setTimeout(() => dot.remove(), click ? 1500 : 800);
  }

  // While this side holds control, the mirror's fields and clicks drive the customer's page.
  attachOperator() {
    const doc = this.doc;
    const idOf = (el) => Number(el?.closest?.("[data-zhanye-id]")?.dataset.zhanyeId);
    const send = (kind, data) => {
      if (this.canOperate && this.onOperate) this.onOperate(kind, data);
    };
    doc.addEventListener("input", (event) => {
      const el = event.target;
      const node = idOf(el);
      if (!node || this.masked.has(node)) return;
      if (el.type === "checkbox" || el.type === "radio") send("input", { node, checked: el.checked });
      else send("input", { node, value: el.value });
    }, true);
    doc.addEventListener("click", (event) => {
      const node = idOf(event.target);
      if (!node || this.masked.has(node)) return;
      const field = event.target.closest("input,select,textarea,option");
      if (!field) send("click", { node });
      if (event.target.closest("a,button,[type=submit]")) event.preventDefault();
    }, true);
    doc.addEventListener("submit", (event) => event.preventDefault(), true);
  }

  setControl(canOperate) {
    this.canOperate = canOperate;
    for (const el of this.doc.querySelectorAll("input,select,textarea")) {
      const masked = this.masked.has(Number(el.dataset.zhanyeId));
      el.readOnly = !canOperate || masked;
      el.disabled = !canOperate && (el.type === "checkbox" || el.type === "radio" || el.tagName === "SELECT");
    }
  }
}
