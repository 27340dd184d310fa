// The hall's videos (manual §5.6): the stage while nothing is shared, a floating window over
// the shared page while something is. The window is dragged by its head (mouse or finger)
// and always kept whole on the screen; it collapses to its head so it never covers the page
// for good. Any tile enlarges with a click or tap; its shrink control puts it back.
import { t } from "./i18n.js";

// Keeps a fixed-position box whole inside the window.
function clamp(box, left, top) {
  const rect = box.getBoundingClientRect();
  const maxLeft = Math.max(0, window.innerWidth - rect.width);
  const maxTop = Math.max(0, window.innerHeight - rect.height);
  return [Math.min(Math.max(0, left), maxLeft), Math.min(Math.max(0, top), maxTop)];
}

// Lets `box` (position: fixed) be dragged by `handle`; the caller says when it may be.
export function draggable(box, handle, { enabled = () => true } = {}) {
  handle.addEventListener("pointerdown", (event) => {
    if (!enabled() || event.button > 0 || event.target.closest("button")) return;
    event.preventDefault();
    handle.setPointerCapture?.(event.pointerId);
    const start = box.getBoundingClientRect();
    const dx = event.clientX - start.left;
    const dy = event.clientY - start.top;
    box.classList.add("dragging");
    const move = (e) => {
      const [left, top] = clamp(box, e.clientX - dx, e.clientY - dy);
      box.style.left = `${left}px`;
      box.style.top = `${top}px`;
      box.style.right = "auto";
      box.style.bottom = "auto";
    };
    const up = () => {
      box.classList.remove("dragging");
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
      handle.removeEventListener("pointercancel", up);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
    handle.addEventListener("pointercancel", up);
  });
  // A smaller window (a phone turned, a collapsed neighbour) never leaves it off screen.
  window.addEventListener("resize", () => {
    if (!box.style.left) return;
    const [left, top] = clamp(box, parseFloat(box.style.left), parseFloat(box.style.top));
    box.style.left = `${left}px`;
    box.style.top = `${top}px`;
  });
}

// Tiles of `stage` enlarge on a click or tap and shrink back with the control in their
// corner (the hall and the customer's page); call apply() after each renderStage.
export function enlargeable(stage) {
  let enlarged = null;
  function apply() {
    let found = false;
    for (const tile of stage.querySelectorAll(".tile[data-participant]")) {
      const on = tile.dataset.participant === enlarged;
      found ||= on;
      tile.classList.toggle("enlarged", on);
      let shrink = tile.querySelector("[data-action=shrink]");
      if (on && !shrink) {
        shrink = document.createElement("button");
        shrink.type = "button";
        shrink.className = "shrink";
        shrink.dataset.action = "shrink";
        shrink.setAttribute("aria-label", t("hall.shrink"));
        shrink.title = t("hall.shrink");
        shrink.textContent = "⤡";
        tile.append(shrink);
      } else if (!on) shrink?.remove();
      tile.setAttribute("aria-label", t(on ? "hall.shrink" : "hall.enlarge"));
    }
    if (!found) enlarged = null; // the person left
    stage.dataset.enlarged = enlarged || "";
    // The shade behind an enlarged tile: a tap on it puts the tile back too.
    let backdrop = stage.querySelector(":scope > .tile-backdrop");
    if (enlarged && !backdrop) {
      backdrop = document.createElement("div");
      backdrop.className = "tile-backdrop";
      stage.append(backdrop);
    } else if (!enlarged) backdrop?.remove();
  }
  stage.addEventListener("click", (event) => {
    if (event.target.classList.contains("tile-backdrop")) {
      enlarged = null;
      apply();
      return;
    }
    const tile = event.target.closest(".tile[data-participant]");
    if (!tile) return;
    if (event.target.closest("[data-action=shrink]")) enlarged = null;
    else if (enlarged !== tile.dataset.participant) enlarged = tile.dataset.participant;
    else return;
    apply();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && enlarged) {
      enlarged = null;
      apply();
    }
  });
  return { apply };
}

export function mountVideoDock(dock, stage) {
  const collapse = dock.querySelector("[data-dock=collapse]");
  const head = dock.querySelector(".dock-head");
  const tiles = enlargeable(stage);

  function setCollapsed(collapsed) {
    dock.classList.toggle("collapsed", collapsed);
    collapse.setAttribute("aria-expanded", String(!collapsed));
    collapse.textContent = t(collapsed ? "hall.expandVideos" : "hall.collapseVideos");
  }
  collapse.addEventListener("click", () => setCollapsed(!dock.classList.contains("collapsed")));
  draggable(dock, head, { enabled: () => dock.dataset.floating === "true" });

  return {
    apply: tiles.apply,
    // Floating over a shared page, or the stage itself when nothing is shared.
    setFloating(floating) {
      if ((dock.dataset.floating === "true") === floating) return;
      dock.dataset.floating = String(floating);
      if (!floating) {
        dock.style.left = dock.style.top = dock.style.right = dock.style.bottom = "";
      }
    },
    setCollapsed,
  };
}
