// Rendering of a room shared by the hall and the customer page: video tiles and members.
import { t } from "./i18n.js";

export function renderStage(stage, room, me) {
  stage.replaceChildren();
  const present = Object.values(room.participants).filter((p) => p.present);
  const mine = room.participants[me.participant_id];
  const mainId = (mine && mine.main_view) || room.host_id;
  for (const p of present) {
    const tile = document.createElement("div");
    tile.className = `tile${p.id === mainId ? " main" : ""}`;
    tile.dataset.participant = p.id;
    const label = document.createElement("span");
    label.className = "label";
    const states = [!p.audio_on && t("hall.muted"), !p.video_on && t("hall.cameraOff")].filter(Boolean);
    label.textContent = [`${p.name}（${t(`participant.${p.role}`)}）`, ...states].join(" · ");
    tile.append(label);
    stage.append(tile);
  }
}

// One row per participant with the controls this viewer may use on them.
export function renderMembers(list, room, me, client, onError) {
  list.replaceChildren();
  const amHost = me.role === "host";
  for (const p of Object.values(room.participants)) {
    const li = document.createElement("li");
    li.dataset.participant = p.id;
    li.dataset.name = p.name;
    if (!p.present) li.className = "away";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${p.name} · ${t(`participant.${p.role}`)} · ${t(`terminal.${p.terminal}`)}${p.present ? "" : ` · ${t("hall.away")}`}`;
    li.append(who);
    const room_live = room.state !== "ended" && p.present;
    const canControl = room_live && (amHost || p.id === me.participant_id);
    const toggle = (kind, on) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "toggle";
      b.setAttribute("aria-pressed", String(on));
      b.dataset.control = kind;
      b.textContent = t(`hall.${kind}`);
      b.disabled = !canControl;
      b.addEventListener("click", () =>
        client.send(`room.set_${kind}`, { target: p.id, on: !on }).catch(onError),
      );
      li.append(b);
    };
    toggle("audio", p.audio_on);
    toggle("video", p.video_on);
    if (room_live) {
      const view = document.createElement("button");
      view.type = "button";
      view.className = "link";
      view.dataset.control = "main";
      view.textContent = t("hall.makeMain");
      view.addEventListener("click", () => client.send("room.set_main_view", { target: p.id }).catch(onError));
      li.append(view);
    }
    list.append(li);
  }
}
