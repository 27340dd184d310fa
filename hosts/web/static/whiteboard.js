// The shared document and whiteboard of a session, for the hall and the customer page.
//
// BoardState mirrors the server's board: a snapshot (whiteboard.sync) plus every
// whiteboard.applied after it, in seq order; the server resolves undo, erase and clear
// into plain effects, so applying them is all a client does. My finished strokes are
// drawn at once (pending) and replaced by the server's copy when it comes back.
// mountBoard() draws it: the page (image, blank or video), the strokes on a canvas,
// a toolbar docked beside the page (drag it to another edge; it never covers the page)
// and page turning / video controls for the presenter. The host hands the presenter
// role to a customer and takes it back from the board's head (the server refuses it
// from anyone else); the others follow the presenter's zoom and pan if they choose.
// Two fingers pinch to zoom and pan one's own view; a pen's pressure varies the
// stroke's width exactly as the server's renderer draws it (see pressureLevel).
import { t, translate } from "./i18n.js";

const COLOURS = ["#e11d48", "#2563eb", "#16a34a", "#111827", "#f59e0b"];
const WIDTHS = [2, 4, 8, 16];
const INK_EVERY_MS = 80;
const INK_AFTER_MS = 150;
const MAX_POINTS = 2000;

let counter = 0;
function newId(me) {
  counter += 1;
  return `${me.slice(0, 12)}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}-${counter}`;
}

export class BoardState extends EventTarget {
  constructor() {
    super();
    this.reset();
    this.pending = new Map();
    this.ink = new Map();
    this.views = {};
  }

  reset() {
    this.synced = false;
    this.queue = [];
    this.seq = 0;
    this.presenter = "";
    this.documents = {};
    this.pages = {};
    this.current = null;
    this.video = null;
    this.videoReceivedAt = 0;
    this.strokes = new Map();
  }

  loadSnapshot(data) {
    this.seq = data.seq;
    this.presenter = data.presenter;
    this.documents = Object.fromEntries(data.documents.map((d) => [d.id, d]));
    this.pages = { ...data.pages };
    this.current = data.current;
    this.video = data.video;
    // The server's clock says how long the video has played since its last change.
    this.videoReceivedAt = performance.now() - (data.video ? data.now_ms - data.video.at_ms : 0);
    this.strokes = new Map(data.strokes.map((s) => [s.id, s]));
    for (const id of this.strokes.keys()) this.pending.delete(id);
    this.views = { ...(data.views || {}) };
    this.synced = true;
    const queued = this.queue;
    this.queue = [];
    for (const entry of queued) this.apply(entry);
    this.changed("snapshot");
  }

  apply(data) {
    if (!this.synced) {
      this.queue.push(data);
      return;
    }
    if (data.seq <= this.seq) return; // the snapshot holds it already
    this.seq = data.seq;
    for (const effect of data.effects) {
      switch (effect.kind) {
        case "stroke_added":
          this.strokes.set(effect.stroke.id, { ...effect.stroke, z: effect.z });
          this.pending.delete(effect.stroke.id);
          this.ink.delete(effect.stroke.author);
          break;
        case "strokes_shown":
          effect.strokes.forEach((s, i) => this.strokes.set(s.id, { ...s, z: effect.z[i] }));
          break;
        case "strokes_hidden":
          for (const id of effect.strokes) this.strokes.delete(id);
          break;
        case "page_turned":
          this.pages[effect.document] = effect.page;
          break;
        case "document_shared":
          this.documents[effect.document.id] = effect.document;
          this.pages[effect.document.id] = effect.page;
          this.current = effect.document.id;
          this.video = effect.document.kind === "video" ? { playing: false, position_ms: 0, at_ms: 0 } : null;
          break;
        case "document_closed":
          this.current = null;
          this.video = null;
          break;
        case "video_changed":
          this.video = effect.video;
          this.videoReceivedAt = performance.now();
          break;
        case "presenter_changed":
          this.presenter = effect.participant;
          this.presenterChanged = true;
          break;
        default:
          break;
      }
    }
    this.changed("applied", data);
  }

  changed(reason, data) {
    this.dispatchEvent(new CustomEvent("change", { detail: { reason, data } }));
  }

  get document() {
    return this.current ? this.documents[this.current] : null;
  }

  get page() {
    return this.current ? this.pages[this.current] || 1 : 1;
  }

  // Visible strokes of a page, bottom first, with my pending ones on top.
  pageStrokes(documentId, page) {
    const on = (s) => s.document === documentId && s.page === page;
    const confirmed = [...this.strokes.values()].filter(on).sort((a, b) => a.z - b.z);
    return confirmed.concat([...this.pending.values()].filter(on));
  }

  videoPosition() {
    if (!this.video) return 0;
    const elapsed = this.video.playing ? performance.now() - this.videoReceivedAt : 0;
    return (this.video.position_ms + elapsed) / 1000;
  }
}

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role" || key === "for") node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

// Distance from (px, py) to the segment (ax, ay)-(bx, by).
function segmentDistance(px, py, ax, ay, bx, by) {
  const ex = bx - ax;
  const ey = by - ay;
  const len2 = ex * ex + ey * ey;
  const tt = len2 ? Math.max(0, Math.min(1, ((px - ax) * ex + (py - ay) * ey) / len2)) : 0;
  return Math.hypot(px - (ax + tt * ex), py - (ay + tt * ey));
}

function hits(stroke, x, y, reach) {
  const p = stroke.points;
  const limit = stroke.width / 2 + reach;
  if (p.length === 3) return Math.hypot(x - p[0], y - p[1]) <= limit;
  for (let i = 0; i + 5 < p.length; i += 3) {
    if (segmentDistance(x, y, p[i], p[i + 1], p[i + 3], p[i + 4]) <= limit) return true;
  }
  return false;
}

// A segment's width level from its ends' pressures (0..1000): 16 is the stroke's own
// width. The same integer formula as zhanye_sdk/whiteboard/render.py's pressure_level.
export const LEVELS = 16;
export function pressureLevel(a, b) {
  return Math.floor(((a + b + 1000) * LEVELS) / 2000);
}

// A pen stroke whose pressure varies is drawn as runs of segments of one level each,
// as the server renders it; highlighters keep one width.
function pressureRuns(stroke) {
  const p = stroke.points;
  const n = p.length / 3;
  const xy = (k) => [p[3 * k], p[3 * k + 1]];
  let uniform = true;
  for (let k = 1; k < n; k++) if (p[3 * k + 2] !== p[2]) uniform = false;
  if (stroke.tool === "highlighter") return [{ points: Array.from({ length: n }, (_, k) => xy(k)), level: LEVELS }];
  if (n === 1 || uniform) return [{ points: Array.from({ length: n }, (_, k) => xy(k)), level: pressureLevel(p[2], p[2]) }];
  const runs = [];
  for (let k = 0; k + 1 < n; k++) {
    const level = pressureLevel(p[3 * k + 2], p[3 * k + 5]);
    const last = runs[runs.length - 1];
    if (last && last.level === level) last.points.push(xy(k + 1));
    else runs.push({ points: [xy(k), xy(k + 1)], level });
  }
  return runs;
}

function drawStroke(ctx, stroke, alpha = 1) {
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.globalCompositeOperation = stroke.tool === "highlighter" ? "multiply" : "source-over";
  ctx.strokeStyle = stroke.colour;
  ctx.fillStyle = stroke.colour;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const run of pressureRuns(stroke)) {
    const width = (stroke.width * run.level) / LEVELS;
    const [first, ...rest] = run.points;
    ctx.beginPath();
    if (!rest.length) {
      ctx.arc(first[0], first[1], width / 2, 0, Math.PI * 2);
      ctx.fill();
      continue;
    }
    ctx.lineWidth = width;
    ctx.moveTo(first[0], first[1]);
    for (const [x, y] of rest) ctx.lineTo(x, y);
    ctx.stroke();
  }
  ctx.restore();
}

// options: { sessionId, credentials: {token} | {seat}, staff: bool, onError(error), listMaterials(),
//            collapsed: the toolbar starts collapsed to its 画笔 button }
export function mountBoard(panel, client, options) {
  const state = new BoardState();
  const me = () => client.me?.participant_id || "";
  // Page images, the video and the export are plain URLs (no headers): customers pass
  // their seat token, staff a short-lived view ticket for this session's board — never
  // their login token, which URLs would leak into logs and history.
  let query = options.credentials.seat ? new URLSearchParams({ seat: options.credentials.seat }).toString() : "";
  async function renewTicket() {
    const reply = await fetch(`/api/sessions/${options.sessionId}/board/ticket`, {
      method: "POST",
      headers: { Authorization: `Bearer ${options.credentials.token}` },
    });
    if (!reply.ok) return;
    const { ticket, expires_in_ms: ttl } = await reply.json();
    query = new URLSearchParams({ ticket }).toString();
    setTimeout(() => renewTicket().catch(() => {}), ttl / 2);
    render();
  }
  const tool = { kind: "pen", colour: COLOURS[0], width: WIDTHS[1] };
  let view = { zoom: 1000, x: 0, y: 0 };
  let follow = !options.staff;
  const showError = (error) => options.onError?.(error);
  const send = (type, data) => client.send(type, data).catch(showError);

  // ---- markup -------------------------------------------------------------------------
  const toolButton = (kind) =>
    element("button", { type: "button", "data-tool": kind, "aria-pressed": String(kind === tool.kind), text: t(`board.tool.${kind}`) });
  const swatches = COLOURS.map((colour) =>
    element("button", {
      type: "button",
      className: "swatch",
      "data-colour": colour,
      "aria-pressed": String(colour === tool.colour),
      "aria-label": t("board.colour", { colour }),
      style: `background:${colour}`,
    }),
  );
  const widthSelect = element(
    "select",
    { "data-width": "", "aria-label": t("board.width") },
    WIDTHS.map((w) => element("option", { value: String(w), text: t("board.widthValue", { n: w }), selected: w === tool.width })),
  );
  const action = (name) => element("button", { type: "button", "data-action": name, text: t(`board.${name}`) });
  const followBox = element("input", { type: "checkbox", checked: follow, "data-follow": "" });
  const toolbar = element("div", { className: "board-toolbar", role: "toolbar", "aria-label": t("board.toolbar") }, [
    element("span", { className: "handle", title: t("board.drag"), "aria-hidden": "true", text: "⠿" }),
    element("div", { className: "tools" }, [
      toolButton("pen"),
      toolButton("highlighter"),
      toolButton("eraser"),
      toolButton("move"),
      ...swatches,
      widthSelect,
      action("undo"),
      action("redo"),
      action("clear"),
      action("zoomIn"),
      action("zoomOut"),
      action("fit"),
      element("label", { className: "follow" }, [followBox, element("span", { text: t("board.follow") })]),
    ]),
    element("button", { type: "button", "data-action": "collapse", "aria-expanded": "true", text: t("board.collapse") }),
  ]);
  const title = element("strong", { className: "board-title" });
  const prev = element("button", { type: "button", "data-action": "prev", text: t("board.prev") });
  const next = element("button", { type: "button", "data-action": "next", text: t("board.next") });
  const pageLabel = element("span", { className: "page-label", "data-page-label": "" });
  const exportLink = element("a", { className: "button", "data-action": "export", text: t("board.export"), hidden: true });
  const stopShare = element("button", { type: "button", className: "danger", "data-action": "stop", text: t("board.stop"), hidden: !options.staff });
  // 切换操作方: who presents, and for the host the hand-over and take-back controls.
  const presenterLabel = element("span", { className: "presenter-label badge", "data-presenter": "" });
  const presenterPick = element("select", { "data-presenter-pick": "", "aria-label": t("board.presenterPick"), hidden: true });
  const handOver = element("button", { type: "button", "data-action": "handOver", text: t("board.handOver"), hidden: true });
  const takeBack = element("button", { type: "button", "data-action": "takeBack", text: t("board.takeBack"), hidden: true });
  const presenterBox = element("span", { className: "presenter" }, [presenterLabel, presenterPick, handOver, takeBack]);
  const head = element("div", { className: "board-head" }, [title, presenterBox, element("span", { className: "spacer" }), prev, pageLabel, next, exportLink, stopShare]);
  const image = element("img", { className: "board-image", alt: "" });
  const canvas = element("canvas", { className: "board-canvas", "data-strokes": "" });
  const sheet = element("div", { className: "board-sheet" }, [image, canvas]);
  const video = element("video", { className: "board-video", playsInline: true, preload: "auto", hidden: true });
  const viewport = element("div", { className: "board-viewport" }, [sheet, video]);
  const main = element("div", { className: "board-main" }, [head, viewport]);
  const board = element("div", { className: "board", "data-dock": "top" }, [toolbar, main]);
  if (options.collapsed) {
    toolbar.classList.add("collapsed");
    const collapse = toolbar.querySelector("[data-action=collapse]");
    collapse.setAttribute("aria-expanded", "false");
    collapse.textContent = t("board.expand");
  }
  panel.replaceChildren(board);
  translate(panel);

  // ---- layout and drawing -------------------------------------------------------------
  function pageSize() {
    const doc = state.document;
    if (!doc || doc.kind === "video") return [1280, 720];
    return doc.pages[state.page - 1] || doc.pages[0];
  }

  function fitScale() {
    const [pw, ph] = pageSize();
    return Math.min(viewport.clientWidth / pw, viewport.clientHeight / ph) || 1;
  }

  function layout() {
    const [pw, ph] = pageSize();
    const scale = fitScale() * (view.zoom / 1000);
    sheet.style.width = `${pw}px`;
    sheet.style.height = `${ph}px`;
    const offsetX = Math.max(0, (viewport.clientWidth - pw * scale) / 2);
    const offsetY = Math.max(0, (viewport.clientHeight - ph * scale) / 2);
    sheet.style.transform = `translate(${offsetX - view.x * scale}px, ${offsetY - view.y * scale}px) scale(${scale})`;
    const ratio = Math.min(2, window.devicePixelRatio || 1);
    const cw = Math.max(1, Math.round(pw * Math.min(1, scale) * ratio));
    if (canvas.width !== cw) {
      canvas.width = cw;
      canvas.height = Math.max(1, Math.round((ph * cw) / pw));
    }
    redraw();
  }

  // Confirmed strokes are drawn once into `base` (again only when they or the page
  // change); each frame copies it and adds my pending strokes, others' ink and the stroke
  // being drawn, so thousands of strokes do not slow drawing down.
  const base = document.createElement("canvas");
  let baseDirty = true;
  function redraw() {
    const ctx = canvas.getContext("2d");
    const [pw, ph] = pageSize();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const doc = state.document;
    if (!doc || doc.kind === "video") {
      canvas.dataset.strokes = "";
      return;
    }
    if (base.width !== canvas.width || base.height !== canvas.height) {
      base.width = canvas.width;
      base.height = canvas.height;
      baseDirty = true;
    }
    if (baseDirty) {
      baseDirty = false;
      const under = base.getContext("2d");
      under.setTransform(1, 0, 0, 1, 0, 0);
      under.clearRect(0, 0, base.width, base.height);
      under.setTransform(base.width / pw, 0, 0, base.height / ph, 0, 0);
      const confirmed = state.pageStrokes(doc.id, state.page).filter((s) => state.strokes.has(s.id));
      for (const stroke of confirmed) drawStroke(under, stroke);
      canvas.dataset.strokes = confirmed.map((s) => s.id).join(",");
    }
    ctx.drawImage(base, 0, 0);
    ctx.setTransform(canvas.width / pw, 0, 0, canvas.height / ph, 0, 0);
    for (const stroke of state.pending.values()) {
      if (stroke.document === doc.id && stroke.page === state.page && !state.strokes.has(stroke.id)) drawStroke(ctx, stroke);
    }
    for (const [author, stroke] of state.ink) {
      if (author !== me() && stroke.document === doc.id && stroke.page === state.page) drawStroke(ctx, stroke, 0.6);
    }
    if (drawing) drawStroke(ctx, drawing);
  }

  function participantName(id) {
    return client.room?.participants?.[id]?.name || id;
  }
  function renderPresenter() {
    const mine = state.presenter === me();
    const amHost = client.me?.role === "host";
    presenterLabel.textContent = mine ? t("board.youPresent") : t("board.presenter", { name: participantName(state.presenter) });
    panel.dataset.presenter = state.presenter;
    presenterBox.hidden = !client.room; // a replay has no room to name people from
    const others = Object.values(client.room?.participants || {}).filter((p) => p.present && p.id !== me() && p.role !== "host");
    const live = client.room?.state !== "ended";
    presenterPick.hidden = handOver.hidden = !(amHost && mine && live && others.length);
    const chosen = presenterPick.value;
    presenterPick.replaceChildren(...others.map((p) => element("option", { value: p.id, text: p.name, selected: p.id === chosen })));
    takeBack.hidden = !(amHost && !mine && live && state.presenter);
  }

  function render() {
    const doc = state.document;
    panel.hidden = !doc;
    if (!doc) return;
    renderPresenter();
    const presenter = state.presenter === me();
    title.textContent = doc.name;
    const isVideo = doc.kind === "video";
    video.hidden = !isVideo;
    sheet.hidden = isVideo;
    toolbar.hidden = isVideo;
    prev.hidden = next.hidden = pageLabel.hidden = isVideo;
    prev.disabled = !presenter || state.page <= 1;
    next.disabled = !presenter || state.page >= doc.pages.length;
    stopShare.hidden = !options.staff || !presenter;
    pageLabel.textContent = t("board.page", { page: state.page, pages: doc.pages.length });
    exportLink.hidden = !options.staff || isVideo;
    exportLink.href = `/api/sessions/${options.sessionId}/board/documents/${doc.id}/annotated.pdf?${query}`;
    exportLink.download = `${doc.name}.pdf`;
    panel.dataset.document = doc.id;
    panel.dataset.page = String(state.page);
    if (isVideo) {
      // Keyed by the document, not the URL: a renewed ticket does not reload the video.
      if (query && video.dataset.document !== doc.id) {
        video.dataset.document = doc.id;
        video.src = `/api/sessions/${options.sessionId}/board/documents/${doc.id}/video?${query}`;
      }
      video.controls = presenter;
      syncVideo();
      return;
    }
    const shown = doc.kind === "file" && query ? `${doc.id}/${state.page}` : "";
    if (image.dataset.shown !== shown) {
      image.dataset.shown = shown;
      if (shown) image.src = `/api/sessions/${options.sessionId}/board/documents/${shown.replace("/", "/pages/")}?${query}`;
      else image.removeAttribute("src");
      image.hidden = !shown;
    }
    layout();
  }

  // ---- video: the presenter's player drives everyone's ---------------------------------
  let applyingVideo = false;
  function syncVideo() {
    if (!state.video || state.presenter === me()) return;
    applyingVideo = true;
    const target = state.videoPosition();
    if (Math.abs(video.currentTime - target) > 0.3) video.currentTime = target;
    if (state.video.playing && video.paused) {
      video.play().catch(() => {
        video.muted = true; // autoplay with sound needs a gesture; start muted
        video.play().catch(() => {});
      });
    } else if (!state.video.playing && !video.paused) video.pause();
    video.dataset.playing = String(state.video.playing);
    setTimeout(() => (applyingVideo = false), 50);
  }
  const videoOp = (name) => () => {
    if (applyingVideo || state.presenter !== me()) return;
    send("share.video", { op_id: newId(me()), action: name, position_ms: Math.round(video.currentTime * 1000) });
  };
  video.addEventListener("loadedmetadata", syncVideo); // a late joiner's player catches up
  video.addEventListener("play", videoOp("play"));
  video.addEventListener("pause", videoOp("pause"));
  video.addEventListener("seeked", videoOp("seek"));

  // ---- views: zoom, pan, follow the presenter ------------------------------------------
  function clampView() {
    const [pw, ph] = pageSize();
    view.zoom = Math.max(1000, Math.min(8000, Math.round(view.zoom)));
    const visibleW = pw / (view.zoom / 1000);
    const visibleH = ph / (view.zoom / 1000);
    view.x = Math.round(Math.max(0, Math.min(pw - visibleW, view.x)));
    view.y = Math.round(Math.max(0, Math.min(ph - visibleH, view.y)));
  }
  let viewTimer = null;
  function setView(next, broadcast = true) {
    view = { ...view, ...next };
    clampView();
    layout();
    panel.dataset.zoom = String(view.zoom);
    panel.dataset.view = `${view.x},${view.y}`;
    if (!broadcast || !state.document) return;
    clearTimeout(viewTimer);
    viewTimer = setTimeout(() => {
      send("whiteboard.view", { document: state.current, page: state.page, zoom: view.zoom, x: view.x, y: view.y });
    }, 100);
  }
  function followPresenter() {
    const presenterView = state.views[state.presenter];
    if (follow && state.presenter !== me() && presenterView && presenterView.document === state.current) {
      setView({ zoom: presenterView.zoom, x: presenterView.x, y: presenterView.y }, false);
    }
  }
  followBox.addEventListener("change", () => {
    follow = followBox.checked;
    followPresenter();
  });

  // ---- drawing with mouse, pen or finger -----------------------------------------------
  let drawing = null;
  let erasing = null;
  let panning = null;
  let pinching = null;
  let inkTimer = 0;
  let drawingSince = 0;
  const touches = new Map(); // pointerId -> {x, y} of the fingers on the page

  // Pinch: the page point under the two fingers' midpoint stays under it while the
  // distance between them scales the zoom. Only my own view changes (and is broadcast).
  function viewportPoint(x, y) {
    const rect = viewport.getBoundingClientRect();
    return [x - rect.left, y - rect.top];
  }
  function pinchFrame() {
    const [a, b] = [...touches.values()];
    return { mid: viewportPoint((a.x + b.x) / 2, (a.y + b.y) / 2), distance: Math.hypot(a.x - b.x, a.y - b.y) || 1 };
  }
  function startPinch() {
    drawing = null; // the first finger's stroke was the start of a pinch, not ink
    erasing = null;
    panning = null;
    const frame = pinchFrame();
    const [pw, ph] = pageSize();
    const scale = fitScale() * (view.zoom / 1000);
    const offsetX = Math.max(0, (viewport.clientWidth - pw * scale) / 2);
    const offsetY = Math.max(0, (viewport.clientHeight - ph * scale) / 2);
    pinching = {
      distance: frame.distance,
      zoom: view.zoom,
      anchor: [(frame.mid[0] - offsetX) / scale + view.x, (frame.mid[1] - offsetY) / scale + view.y],
    };
    redraw();
  }
  function movePinch() {
    const frame = pinchFrame();
    const [pw, ph] = pageSize();
    const zoom = Math.max(1000, Math.min(8000, pinching.zoom * (frame.distance / pinching.distance)));
    const scale = fitScale() * (zoom / 1000);
    const offsetX = Math.max(0, (viewport.clientWidth - pw * scale) / 2);
    const offsetY = Math.max(0, (viewport.clientHeight - ph * scale) / 2);
    setView({
      zoom,
      x: pinching.anchor[0] - (frame.mid[0] - offsetX) / scale,
      y: pinching.anchor[1] - (frame.mid[1] - offsetY) / scale,
    });
  }
  function pagePoint(event) {
    const rect = canvas.getBoundingClientRect();
    const [pw, ph] = pageSize();
    const pressure = event.pressure && event.pointerType === "pen" ? event.pressure : 0.5;
    return [
      Math.round(((event.clientX - rect.left) / rect.width) * pw),
      Math.round(((event.clientY - rect.top) / rect.height) * ph),
      Math.round(pressure * 1000),
    ];
  }
  canvas.addEventListener("pointerdown", (event) => {
    const doc = state.document;
    if (!doc || event.button > 0) return;
    event.preventDefault();
    canvas.setPointerCapture?.(event.pointerId);
    if (event.pointerType === "touch") {
      touches.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (touches.size === 2) startPinch();
      if (touches.size >= 2 || pinching) return;
    }
    if (tool.kind === "move") {
      panning = { x: event.clientX, y: event.clientY, view: { ...view } };
      return;
    }
    if (tool.kind === "eraser") {
      erasing = new Set();
      eraseAt(event);
      return;
    }
    drawing = {
      id: newId(me()),
      author: me(),
      document: doc.id,
      page: state.page,
      tool: tool.kind,
      colour: tool.colour,
      width: tool.width * (tool.kind === "highlighter" ? 4 : 1) * Math.max(1, Math.round(pageSize()[0] / 1280)),
      points: pagePoint(event),
    };
    drawingSince = performance.now();
    redraw();
  });
  function eraseAt(event) {
    const [x, y] = pagePoint(event);
    const reach = 6 / (canvas.getBoundingClientRect().width / pageSize()[0]);
    for (const stroke of state.pageStrokes(state.current, state.page)) {
      if (state.strokes.has(stroke.id) && hits(stroke, x, y, reach)) erasing.add(stroke.id);
    }
  }
  canvas.addEventListener("pointermove", (event) => {
    if (touches.has(event.pointerId)) touches.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pinching) {
      if (touches.size >= 2) movePinch();
      return;
    }
    if (panning) {
      const scale = fitScale() * (panning.view.zoom / 1000);
      setView({ x: panning.view.x - (event.clientX - panning.x) / scale, y: panning.view.y - (event.clientY - panning.y) / scale });
      return;
    }
    if (erasing) {
      eraseAt(event);
      return;
    }
    if (!drawing || drawing.points.length / 3 >= MAX_POINTS) return;
    const point = pagePoint(event);
    const p = drawing.points;
    if (p[p.length - 3] === point[0] && p[p.length - 2] === point[1]) return;
    drawing.points = p.concat(point);
    redraw();
    const now = performance.now();
    // No ink in the first moments of a touch: a second finger landing makes it a pinch,
    // and ink already shown to the others could not be taken back.
    if (now - inkTimer > INK_EVERY_MS && now - drawingSince > INK_AFTER_MS) {
      inkTimer = now;
      const { author, ...stroke } = drawing;
      send("whiteboard.ink", { stroke });
    }
  });
  function finish(event) {
    touches.delete(event.pointerId);
    if (pinching) {
      if (!touches.size) pinching = null; // the last finger up ends the pinch
      return;
    }
    if (panning) {
      panning = null;
      return;
    }
    if (erasing) {
      const ids = [...erasing];
      erasing = null;
      if (ids.length) send("whiteboard.erase", { op_id: newId(me()), strokes: ids });
      return;
    }
    if (!drawing) return;
    const stroke = drawing;
    drawing = null;
    state.pending.set(stroke.id, { ...stroke, z: Infinity });
    redraw();
    const { author, ...form } = stroke;
    client.send("whiteboard.stroke", { op_id: stroke.id, stroke: form }).catch((error) => {
      state.pending.delete(stroke.id);
      redraw();
      showError(error);
    });
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  viewport.addEventListener(
    "wheel",
    (event) => {
      if (!state.document || !event.ctrlKey) return;
      event.preventDefault();
      setView({ zoom: view.zoom * (event.deltaY < 0 ? 1.1 : 1 / 1.1) });
    },
    { passive: false },
  );

  // ---- toolbar ---------------------------------------------------------------------------
  toolbar.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.tool) {
      tool.kind = button.dataset.tool;
      for (const b of toolbar.querySelectorAll("[data-tool]")) b.setAttribute("aria-pressed", String(b === button));
      canvas.dataset.tool = tool.kind;
    } else if (button.dataset.colour) {
      tool.colour = button.dataset.colour;
      for (const b of swatches) b.setAttribute("aria-pressed", String(b === button));
    } else if (button.dataset.action === "undo") send("whiteboard.undo", { op_id: newId(me()) });
    else if (button.dataset.action === "redo") send("whiteboard.redo", { op_id: newId(me()) });
    else if (button.dataset.action === "clear") send("whiteboard.clear", { op_id: newId(me()), document: state.current, page: state.page });
    else if (button.dataset.action === "zoomIn") setView({ zoom: view.zoom * 1.25 });
    else if (button.dataset.action === "zoomOut") setView({ zoom: view.zoom / 1.25 });
    else if (button.dataset.action === "fit") setView({ zoom: 1000, x: 0, y: 0 });
    else if (button.dataset.action === "collapse") {
      const collapsed = toolbar.classList.toggle("collapsed");
      button.setAttribute("aria-expanded", String(!collapsed));
      button.textContent = t(collapsed ? "board.expand" : "board.collapse");
      requestAnimationFrame(layout);
    }
  });
  widthSelect.addEventListener("change", () => (tool.width = Number(widthSelect.value)));
  const turn = (step) => () =>
    send("share.turn", { op_id: newId(me()), document: state.current, page: state.page + step });
  prev.addEventListener("click", turn(-1));
  next.addEventListener("click", turn(1));
  stopShare.addEventListener("click", () => send("share.close", { op_id: newId(me()) }));
  handOver.addEventListener("click", () => {
    if (presenterPick.value) send("share.presenter", { op_id: newId(me()), participant: presenterPick.value });
  });
  takeBack.addEventListener("click", () => send("share.presenter", { op_id: newId(me()), participant: me() }));
  client.addEventListener("room", () => state.document && renderPresenter());

  // Drag the toolbar by its handle to another edge of the board: it docks there and the
  // page takes the rest of the space, so it never covers the page.
  const handle = toolbar.querySelector(".handle");
  handle.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    handle.setPointerCapture?.(event.pointerId);
    const move = (e) => {
      const rect = board.getBoundingClientRect();
      const fx = (e.clientX - rect.left) / rect.width;
      const fy = (e.clientY - rect.top) / rect.height;
      const edges = { top: fy, bottom: 1 - fy, left: fx, right: 1 - fx };
      const dock = Object.entries(edges).sort((a, b) => a[1] - b[1])[0][0];
      if (board.dataset.dock !== dock) {
        board.dataset.dock = dock;
        layout();
      }
    };
    const up = () => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
  });

  // ---- wiring to the signaling client ----------------------------------------------------
  const sync = () => {
    state.synced = false;
    state.queue = [];
    client
      .send("whiteboard.sync")
      .then((data) => state.loadSnapshot(data))
      .catch(showError);
  };
  client.addEventListener("connection", (event) => {
    if (event.detail.state === "open") sync();
  });
  // Mounted on a connection that is open already (the customer's page loads it late).
  if (client.socket?.readyState === WebSocket.OPEN) sync();
  client.addEventListener("event", (event) => {
    const { type, data } = event.detail;
    if (type === "whiteboard.applied") state.apply(data);
    else if (type === "whiteboard.ink") {
      if (data.author === me()) return;
      state.ink.set(data.author, data);
      redraw();
    } else if (type === "whiteboard.view") {
      state.views[data.author] = data;
      if (data.author === state.presenter) followPresenter();
    }
  });
  // Changes are drawn once per animation frame, however many arrive in between.
  let lastDocument = null;
  let frame = 0;
  state.addEventListener("change", () => {
    baseDirty = true;
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (state.current !== lastDocument) {
        lastDocument = state.current;
        view = { zoom: 1000, x: 0, y: 0 };
        followPresenter();
      }
      if (state.presenterChanged) {
        // Whoever no longer presents follows the new presenter (and can untick it);
        // the new presenter's view is broadcast so the others can follow it.
        state.presenterChanged = false;
        follow = state.presenter !== me();
        followBox.checked = follow;
        if (follow) followPresenter();
        else if (state.document) setView({});
      }
      render();
    });
  });
  new ResizeObserver(() => state.document && layout()).observe(viewport);
  render();
  if (options.credentials.token) renewTicket().catch(showError);
  return {
    state,
    share(kind, source) {
      const data = { op_id: newId(me()), kind };
      if (source) data.source = source;
      return client.send("share.open", data);
    },
  };
}

// The hall's share panel: pick a file or video from the material library, or a blank board.
export function shareDialog(dialog, board, { listMaterials, onError }) {
  const list = dialog.querySelector("[data-share-list]");
  async function open() {
    list.replaceChildren(element("p", { text: t("board.loading") }));
    dialog.showModal();
    let items = [];
    try {
      items = await listMaterials();
    } catch (error) {
      onError?.(error);
    }
    const row = (name, kind, source) =>
      element("li", { "data-name": name }, [
        element("span", { className: "kind badge", text: t(`board.kind.${kind}`) }),
        element("span", { className: "name", text: name }),
        element("button", {
          type: "button",
          className: "primary",
          text: t("board.shareThis"),
          onclick: async () => {
            try {
              await board.share(kind, source);
              dialog.close();
            } catch (error) {
              onError?.(error);
            }
          },
        }),
      ]);
    list.replaceChildren(
      element("ul", { className: "share-list" }, [
        row(t("board.blank"), "blank", null),
        ...items.filter((m) => m.kind === "file" || m.kind === "video").map((m) => row(m.name, m.kind, m.id)),
      ]),
    );
  }
  dialog.addEventListener("click", (event) => {
    if (event.target.value === "cancel") dialog.close();
  });
  return open;
}
