// zhanye co-browse agent: runs inside the shared H5 page (include it with
// <script type="module" src="/sdk/cobrowse/agent.js"></script>). It serialises the
// page with node ids, reports changes, and applies the operator's inputs. It talks only
// to the embedding session page (window.parent) through postMessage; masked values
// never leave this page.

const MASK = "•";
const ids = new WeakMap();
const nodes = new Map();
const everPassword = new WeakSet();
let nextId = 1;
let maskSelectors = [];
let active = false;
let lastPointer = 0;

function post(message) {
  window.parent.postMessage({ zhanye: "cobrowse", ...message }, "*");
}

function idOf(node) {
  let id = ids.get(node);
  if (id === undefined) {
    id = nextId++;
    ids.set(node, id);
    nodes.set(id, node);
  }
  return id;
}

function isMasked(el) {
  if (!(el instanceof Element)) return false;
  if (el instanceof HTMLInputElement) {
    if (el.type === "password") everPassword.add(el);
    if (everPassword.has(el) || el.type === "hidden") return true;
  }
  if (el.closest("[data-zhanye-mask]")) return true;
  return maskSelectors.some((selector) => {
    try {
      return el.matches(selector);
    } catch {
      return false;
    }
  });
}

function isField(el) {
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement;
}

function serialize(node, masked) {
  const id = idOf(node);
  if (node.nodeType === Node.TEXT_NODE) return { id, text: node.data };
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const tag = node.tagName.toLowerCase();
  if (tag === "script" || tag === "noscript") return { id, tag: "template", attrs: {}, children: [] };
  const attrs = {};
  for (const attr of node.attributes) {
    if (attr.name.startsWith("on")) continue;
    if (attr.name === "value" && isMasked(node)) continue;
    attrs[attr.name] = attr.value;
  }
  const result = { id, tag, attrs, children: [] };
  if (isField(node)) {
    reported.set(node, fieldState(node));
    if (isMasked(node)) {
      masked.push(id);
      result.masked = true;
      result.value = node.value ? MASK : "";
    } else if (node.type === "checkbox" || node.type === "radio") {
      result.checked = node.checked;
    } else {
      result.value = node.value;
    }
  }
  for (const child of node.childNodes) {
    const item = serialize(child, masked);
    if (item) result.children.push(item);
  }
  return result;
}

function snapshot() {
  const masked = [];
  const root = serialize(document.documentElement, masked);
  post({
    type: "snapshot",
    snapshot: {
      root,
      masked,
      url: location.href,
      title: document.title,
      viewport: { w: innerWidth, h: innerHeight },
      scroll: { x: scrollX, y: scrollY },
    },
  });
}

function queue(kind, data) {
  if (!active) return;
  post({ type: "event", kind, data });
}

function flushMutations(records) {
  if (!active) return;
  const adds = [];
  const removes = [];
  const attrs = [];
  const texts = [];
  const masked = [];
  for (const record of records) {
    if (record.type === "childList") {
      for (const node of record.removedNodes) if (ids.has(node)) removes.push(ids.get(node));
      for (const node of record.addedNodes) {
        if (!node.isConnected) continue;
        const item = serialize(node, masked);
        if (!item) continue;
        const next = node.nextSibling ? idOf(node.nextSibling) : null;
        adds.push({ parent: idOf(record.target), next, node: item });
      }
    } else if (record.type === "attributes") {
      if (record.attributeName.startsWith("on")) continue;
      attrs.push({ node: idOf(record.target), name: record.attributeName, value: record.target.getAttribute(record.attributeName) });
    } else if (record.type === "characterData") {
      texts.push({ node: idOf(record.target), text: record.target.data });
    }
  }
  if (adds.length || removes.length || attrs.length || texts.length) {
    queue("mutation", { adds, removes, attrs, texts, masked });
  }
}

// What was last reported for each field, so values set by the page's own scripts
// (which fire no events) are found by a sweep and reported once.
const reported = new WeakMap();

function fieldState(el) {
  if (isMasked(el)) return el.value ? MASK : "";
  if (el.type === "checkbox" || el.type === "radio") return el.checked ? "\u2611" : "\u2610";
  return el.value;
}

function sweepFields() {
  if (!active) return;
  for (const el of document.querySelectorAll("input,select,textarea")) {
    if (reported.get(el) !== fieldState(el)) report(el);
  }
}

function fieldEvent(event) {
  const el = event.target;
  if (!isField(el)) return;
  report(el);
  setTimeout(sweepFields, 0);
}

function report(el) {
  reported.set(el, fieldState(el));
  const data = { node: idOf(el) };
  if (isMasked(el)) {
    data.value = el.value ? MASK : "";
    data.masked = true;
  } else if (el.type === "checkbox" || el.type === "radio") {
    data.checked = el.checked;
  } else {
    data.value = el.value;
  }
  queue("input", data);
}

setInterval(sweepFields, 500);

// The operator's inputs, applied on this page as if the customer had made them.
function operate({ kind, data }) {
  const el = nodes.get(data.node);
  if (kind === "scroll") {
    window.scrollTo(data.x || 0, data.y || 0);
    return;
  }
  if (!el || isMasked(el)) return;
  if (kind === "input" && isField(el)) {
    if ("checked" in data) el.checked = Boolean(data.checked);
    else el.value = data.value ?? "";
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  } else if (kind === "click" && el instanceof HTMLElement) {
    el.click();
  }
}

window.addEventListener("message", (event) => {
  const message = event.data;
  if (!message || message.zhanye !== "cobrowse") return;
  if (message.type === "start") {
    maskSelectors = message.maskSelectors || [];
    active = true;
    snapshot();
  } else if (message.type === "need-snapshot") {
    snapshot();
  } else if (message.type === "stop") {
    active = false;
  } else if (message.type === "operate") {
    operate(message);
  }
});

new MutationObserver(flushMutations).observe(document, {
  subtree: true,
  childList: true,
  attributes: true,
  characterData: true,
});
document.addEventListener("input", fieldEvent, true);
document.addEventListener("change", fieldEvent, true);
// Scrolling of the window (node 0) and of scrollable elements, a few times a second.
const scrollTimers = new Map();
document.addEventListener(
  "scroll",
  (event) => {
    const target = event.target === document ? null : event.target;
    const key = target ? idOf(target) : 0;
    clearTimeout(scrollTimers.get(key));
    scrollTimers.set(
      key,
      setTimeout(() => {
        if (target) queue("scroll", { node: key, x: target.scrollLeft, y: target.scrollTop });
        else queue("scroll", { node: 0, x: scrollX, y: scrollY });
      }, 50),
    );
  },
  { passive: true, capture: true },
);
document.addEventListener("pointermove", (event) => {
  const now = performance.now();
  if (now - lastPointer < 50) return;
  lastPointer = now;
  queue("pointer", { x: Math.round(event.clientX), y: Math.round(event.clientY) });
});
document.addEventListener(
  "click",
  (event) => queue("click", { x: Math.round(event.clientX), y: Math.round(event.clientY), node: idOf(event.target) }),
  true,
);
window.addEventListener("resize", () => queue("viewport", { w: innerWidth, h: innerHeight }));
window.addEventListener("pagehide", () => queue("navigate", { url: location.href }));
post({ type: "ready", url: location.href });
