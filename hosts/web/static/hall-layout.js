// The session hall's layout, document first (hall.css draws it):
// - while a document or a product page is shared it is the stage, and the videos float
//   over it in a window that is dragged and collapsed (video-dock.js);
// - the 共享 button opens the share menu (共享测评 / 共享文件 / 共享产品链接 / 共享白板);
// - on a phone the members and the scripts are sheets opened from the bottom bar.
import { mountVideoDock } from "./video-dock.js";

export function mountHallLayout(hall, client) {
  const dock = mountVideoDock(hall.querySelector("#video-dock"), hall.querySelector("#stage"));
  const shared = [hall.querySelector("#board-panel"), hall.querySelector("#cobrowse-panel")];

  function updateSharing() {
    const sharing = shared.some((panel) => !panel.hidden);
    hall.dataset.sharing = String(sharing);
    dock.setFloating(sharing);
  }
  const watcher = new MutationObserver(updateSharing);
  for (const panel of shared) watcher.observe(panel, { attributes: true, attributeFilter: ["hidden"] });
  updateSharing();

  // 共享: a menu under the button (an action sheet on a phone); any choice closes it.
  const toggle = hall.querySelector("#share-toggle");
  const menu = hall.querySelector("#share-menu");
  function setMenu(open) {
    menu.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
  }
  toggle.addEventListener("click", () => setMenu(menu.hidden));
  menu.addEventListener("click", (event) => {
    if (event.target.closest("button")) setMenu(false);
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !event.target.closest(".share-menu-box")) setMenu(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") setMenu(false);
  });

  // The sheets of a phone: one at a time, closed by its × (or by choosing it again).
  const sheetButtons = hall.querySelectorAll(".sheet-toggle");
  function setSheet(name) {
    if (name) hall.dataset.sheet = name;
    else delete hall.dataset.sheet;
    for (const button of sheetButtons) button.setAttribute("aria-expanded", String(button.dataset.sheet === name));
  }
  for (const button of sheetButtons) {
    button.addEventListener("click", () => setSheet(hall.dataset.sheet === button.dataset.sheet ? null : button.dataset.sheet));
  }
  for (const close of hall.querySelectorAll(".sheet-close")) close.addEventListener("click", () => setSheet(null));
  // Choosing whose video is large (成员 → 设为主画面) shows it: the sheet closes.
  hall.querySelector("#members").addEventListener("click", (event) => {
    if (event.target.closest("[data-control=main]")) setSheet(null);
  });

  client.addEventListener("room", () => {
    const room = client.room;
    const present = Object.values(room.participants).filter((p) => p.present).length;
    for (const count of hall.querySelectorAll("[data-member-count]")) count.textContent = `(${present})`;
    if (room.state === "ended") setMenu(false);
    dock.apply();
  });
  return { dock, setSheet };
}
