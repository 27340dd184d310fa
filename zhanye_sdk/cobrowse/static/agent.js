// zhanye co-browse agent: runs inside the shared H5 page (include it with
// <script type="module" src="/sdk/cobrowse/agent.js"></script>). It serialises the
// page with node ids, reports changes, and applies the operator's inputs. It talks only
// to the session page that frames it (window.parent), and only when that page's origin
// is one it trusts: the origin the agent itself was loaded from, or the origins listed in
// <meta name="zhanye-cobrowse-origins" content="https://a.example https://b.example">.
// Masked values never leave this page: not as field values, not as text or attributes
// the page copies them into.

const MASK = "•";
// Attributes a masked node keeps (they style or label it, never hold its value); the
// server refuses any other attribute of a masked node.
const SAFE_MASKED_ATTRS = new Set([
  "id", "class", "style", "type", "name", "placeholder", "disabled", "readonly", "required",
  "maxlength", "minlength", "inputmode", "autocomplete", "role", "tabindex", "for", "hidden",
  "lang", "dir", "data-zhanye-mask",
]);
const SEPARATORS = "[\\s\\-_.·/]*";
const ids = new WeakMap();
const nodes = new Map();
const everMasked = new WeakSet();
let nextId = 1;
let maskSelectors = [];
let active = false;
let lastPointer = 0;
let maxEventBytes = 64 * 1024;
let secrets = [];
// The session page this agent was started by; nothing is posted to anyone else.
let controller = null;
// While a snapshot goes out in chunks, later events wait so they follow it.
let sending = null;

const allowedOrigins = (() => {
  const meta = document.querySelector('meta[name="zhanye-cobrowse-origins"]');
  const listed = meta ? meta.content.split(/\s+/).filter(Boolean) : [];
  return new Set(listed.length ? listed : [new URL(import.meta.url).origin]);
})();

// Framed by a page of another origin: this agent stays silent there.
function framedByTrusted() {
  if (window.parent === window) return false;
  const ancestors = location.ancestorOrigins;
  return !ancestors || !ancestors.length || allowedOrigins.has(ancestors[0]);
}

function post(message) {
  if (!controller) return;
  window.parent.postMessage({ zhanye: "cobrowse", ...message }, controller.origin);
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

// Whether this element itself is marked sensitive (once marked, always: its value may
// already be on the page elsewhere).
function matchesMask(el) {
  if (!(el instanceof Element)) return false;
  if (everMasked.has(el)) return true;
  let masked = el.hasAttribute("data-zhanye-mask");
  if (el instanceof HTMLInputElement && (el.type === "password" || el.type === "hidden")) masked = true;
  masked ||= maskSelectors.some((selector) => {
    try {
      return el.matches(selector);
    } catch {
      return false;
    }
  });
  if (masked) everMasked.add(el);
  return masked;
}

// A node is masked when it or an element around it is marked.
function isMasked(node) {
  for (let el = node instanceof Element ? node : node.parentElement; el; el = el.parentElement) {
    if (matchesMask(el)) return true;
  }
  return false;
}

function isField(el) {
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// The masked values now on the page, as patterns that also find them copied with spaces
// or dashes ("6222 0200 …"). A value under four characters (a CVV, a one-digit answer)
// is blanked too wherever it stands on its own: its digits not inside a longer number,
// its Latin letters not inside a word (Chinese has no word breaks: anywhere). Blanking
// some ordinary "7" or "no" with it is the price of never showing a short secret.
function collectSecrets() {
  const values = new Set();
  for (const el of document.querySelectorAll("input,textarea,select")) {
    if (el.value && isMasked(el)) values.add(el.value);
  }
  const marked = ["[data-zhanye-mask]", ...maskSelectors];
  for (const selector of marked) {
    let found = [];
    try {
      found = document.querySelectorAll(selector);
    } catch {
      continue;
    }
    for (const el of found) {
      const text = isField(el) ? "" : el.textContent.trim();
      if (text && text.length <= 200) values.add(text);
    }
  }
  secrets = [];
  for (const value of values) {
    const chars = [...value.replace(/[\s\-_.·/]/g, "")];
    if (!chars.length) continue;
    const body = chars.map(escapeRegExp).join(SEPARATORS);
    if (chars.length >= 4) {
      secrets.push(new RegExp(body, "gi"));
      continue;
    }
    const before = standsAlone(chars[0]);
    const after = standsAlone(chars[chars.length - 1]);
    secrets.push(new RegExp(`${before ? `(?<!${before})` : ""}${body}${after ? `(?!${after})` : ""}`, "giu"));
  }
}

// What may not touch a short secret's end character for a copy of it to count: more
// digits for a digit, more letters or digits for a Latin letter, nothing otherwise.
function standsAlone(ch) {
  if (/[0-9]/.test(ch)) return "[0-9]";
  if (/[A-Za-z]/.test(ch)) return "[A-Za-z0-9]";
  return "";
}

// Text or an attribute on its way out, with any masked value in it blanked.
function scrub(text) {
  if (typeof text !== "string" || !secrets.length) return text;
  for (const pattern of secrets) text = text.replace(pattern, MASK.repeat(4));
  return text;
}

function attributesOf(el, masked) {
  const attrs = {};
  for (const attr of el.attributes) {
    if (attr.name.startsWith("on")) continue;
    if (masked && !SAFE_MASKED_ATTRS.has(attr.name)) continue;
    attrs[attr.name] = scrub(attr.value);
  }
  return attrs;
}

function serialize(node, masked, underMask) {
  const id = idOf(node);
  if (node.nodeType === Node.TEXT_NODE) {
    if (underMask) {
      masked.push(id);
      return { id, text: node.data.trim() ? MASK : "", masked: true };
    }
    return { id, text: scrub(node.data) };
  }
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const tag = node.tagName.toLowerCase();
  if (tag === "script" || tag === "noscript") return { id, tag: "template", attrs: {}, children: [] };
  const here = underMask || matchesMask(node);
  const result = { id, tag, attrs: attributesOf(node, here), children: [] };
  if (here) {
    masked.push(id);
    result.masked = true;
  }
  if (isField(node)) {
    reported.set(node, fieldState(node));
    if (here) {
      result.value = node.value ? MASK : "";
    } else if (node.type === "checkbox" || node.type === "radio") {
      result.checked = node.checked;
    } else {
      result.value = scrub(node.value);
    }
  }
  for (const child of node.childNodes) {
    const item = serialize(child, masked, here);
    if (item) result.children.push(item);
  }
  return result;
}

const encoder = new TextEncoder();
const bytesOf = (value) => encoder.encode(JSON.stringify(value)).length;
// What one event may carry, with room for the envelope around it.
const budget = () => Math.floor(maxEventBytes * 0.75);
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

// The page as a whole, sent in chunks across tasks so a big page never blocks the phone
// in one send; the server puts the chunks back together.
async function snapshot() {
  const generation = {};
  sending = { generation, held: [] };
  // Changes not yet reported are part of this snapshot: reporting them after it would
  // apply them twice.
  observer.takeRecords();
  collectSecrets();
  const masked = [];
  const root = serialize(document.documentElement, masked, false);
  const text = JSON.stringify({
    root,
    masked,
    url: scrub(location.href),
    title: scrub(document.title),
    viewport: { w: innerWidth, h: innerHeight },
    scroll: { x: scrollX, y: scrollY },
  });
  // Characters per chunk: at most three UTF-8 bytes each.
  const size = Math.floor(budget() / 3);
  const pieces = [];
  for (let start = 0; start < text.length; ) {
    let end = Math.min(text.length, start + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1; // keep surrogate pairs whole
    pieces.push(text.slice(start, end));
    start = end;
  }
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
  for (const [index, piece] of pieces.entries()) {
    if (sending?.generation !== generation) return; // a newer snapshot replaced this one
    post({ type: "snapshot-chunk", id, index, total: pieces.length, text: piece });
    if (index < pieces.length - 1) await nextTask();
  }
  if (sending?.generation !== generation) return;
  const held = sending.held;
  sending = null;
  for (const [kind, data] of held) post({ type: "event", kind, data });
}

function queue(kind, data) {
  if (!active) return;
  if (sending) sending.held.push([kind, data]);
  else post({ type: "event", kind, data });
}

// A burst of changes goes out as several events under the server's limit, in an order
// whose parts applied one after another equal the whole: removals, additions (a subtree
// too big for one event goes as its element, then its children), attributes, texts.
function emitMutation(mutation) {
  const limit = budget();
  if (bytesOf(mutation) <= limit) {
    queue("mutation", mutation);
    return;
  }
  const items = [];
  for (const id of mutation.removes) items.push(["removes", id]);
  const splitAdd = (add) => {
    if (bytesOf(add) <= limit) {
      items.push(["adds", add]);
      return;
    }
    const children = add.node.children || [];
    items.push(["adds", { ...add, node: { ...add.node, children: [] } }]);
    for (const child of children) splitAdd({ parent: add.node.id, next: null, node: child });
  };
  for (const add of mutation.adds) splitAdd(add);
  for (const attr of mutation.attrs) items.push(["attrs", attr]);
  for (const text of mutation.texts) items.push(["texts", text]);
  const empty = () => ({ adds: [], removes: [], attrs: [], texts: [], masked: [] });
  // The masked ids ride with the first part, before any node they name.
  let part = { ...empty(), masked: mutation.masked };
  let size = bytesOf(part);
  for (const [field, item] of items) {
    const itemSize = bytesOf(item) + 1;
    if (size + itemSize > limit && size > bytesOf(empty())) {
      queue("mutation", part);
      part = empty();
      size = bytesOf(part);
    }
    part[field].push(item);
    size += itemSize;
  }
  queue("mutation", part);
}

function flushMutations(records) {
  if (!active) return;
  collectSecrets();
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
        const item = serialize(node, masked, isMasked(record.target));
        if (!item) continue;
        const next = node.nextSibling ? idOf(node.nextSibling) : null;
        adds.push({ parent: idOf(record.target), next, node: item });
      }
    } else if (record.type === "attributes") {
      const name = record.attributeName;
      if (name.startsWith("on")) continue;
      if (isMasked(record.target) && !SAFE_MASKED_ATTRS.has(name)) continue;
      attrs.push({ node: idOf(record.target), name, value: scrub(record.target.getAttribute(name)) });
    } else if (record.type === "characterData") {
      const text = isMasked(record.target) ? (record.target.data.trim() ? MASK : "") : scrub(record.target.data);
      texts.push({ node: idOf(record.target), text });
    }
  }
  if (adds.length || removes.length || attrs.length || texts.length) {
    emitMutation({ adds, removes, attrs, texts, masked });
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
    collectSecrets();
    data.value = scrub(el.value);
  }
  queue("input", data);
}

setInterval(sweepFields, 500);

// An assessment (测评) page marks its questionnaire <form data-zhanye-assessment>; on
// submit its answers go to the session page, which keeps them with the session record.
// A masked field's answer never leaves this page.
function questionOf(el) {
  const asked = el.closest("[data-zhanye-question]");
  if (asked) return asked.getAttribute("data-zhanye-question");
  const legend = (el.type === "radio" || el.type === "checkbox") && el.closest("fieldset")?.querySelector("legend");
  if (legend) return legend.textContent.trim();
  if (el.labels && el.labels[0]) return el.labels[0].textContent.trim();
  return el.getAttribute("aria-label") || el.name;
}

function answerOf(el) {
  if (el.type === "radio" || el.type === "checkbox") {
    if (!el.checked) return "";
    return (el.labels && el.labels[0] ? el.labels[0].textContent : el.value).trim();
  }
  if (el instanceof HTMLSelectElement) return [...el.selectedOptions].map((o) => o.textContent.trim()).join("、");
  return el.value.trim();
}

function assessmentAnswers(form) {
  collectSecrets();
  const answers = new Map();
  for (const el of form.elements) {
    if (!isField(el) || !el.name || el.disabled || isMasked(el)) continue;
    if (["submit", "button", "reset", "image", "file"].includes(el.type)) continue;
    const value = scrub(answerOf(el));
    if (!value) continue;
    const known = answers.get(el.name);
    if (known) known.value = `${known.value}、${value}`;
    else answers.set(el.name, { name: el.name, label: scrub(questionOf(el)), value, node: idOf(el) });
  }
  return [...answers.values()];
}

document.addEventListener(
  "submit",
  (event) => {
    const form = event.target;
    if (!active || !(form instanceof HTMLFormElement) || !form.hasAttribute("data-zhanye-assessment")) return;
    flushMutations(observer.takeRecords());
    post({ type: "submit", answers: assessmentAnswers(form) });
  },
  true,
);

// The operator's inputs, applied on this page as if the customer had made them.
function operate({ kind, data }) {
  if (!active || !data) return;
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
  // Only the framing session page, from a trusted origin, and once started only the
  // origin that started it.
  if (event.source !== window.parent || !allowedOrigins.has(event.origin) || !framedByTrusted()) return;
  if (controller && event.origin !== controller.origin) return;
  if (message.type === "start") {
    controller = { origin: event.origin };
    maskSelectors = Array.isArray(message.maskSelectors) ? message.maskSelectors.filter((s) => typeof s === "string") : [];
    if (message.maxEventBytes > 1024) maxEventBytes = message.maxEventBytes;
    active = true;
    snapshot();
  } else if (!controller) {
    // nothing but a start before being started
  } else if (message.type === "need-snapshot") {
    snapshot();
  } else if (message.type === "stop") {
    active = false;
    sending = null;
  } else if (message.type === "operate") {
    operate(message);
  }
});

const observer = new MutationObserver(flushMutations);
observer.observe(document, {
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
window.addEventListener("pagehide", () => {
  collectSecrets();
  queue("navigate", { url: scrub(location.href) });
});
// Announce the agent to the framing page, only if it is of a trusted origin (a
// postMessage to another origin is dropped by the browser).
if (framedByTrusted()) {
  for (const origin of allowedOrigins) window.parent.postMessage({ zhanye: "cobrowse", type: "ready" }, origin);
}
