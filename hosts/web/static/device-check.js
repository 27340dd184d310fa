// Device check before joining a session (manual §4.3): is there a microphone and a camera,
// and has the page been allowed to use them. Shown on the customer's join page and in the
// hall; it never blocks joining: without a camera the others only hear you, without a
// microphone they only see you, and the panel says so with a way to check again.
import { t } from "./i18n.js";

const DEVICES = [
  ["microphone", { audio: true }],
  ["camera", { video: true }],
];

// A getUserMedia failure as what the person can do about it.
function statusOf(error) {
  switch (error?.name) {
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "missing";
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return "denied";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "busy";
    default:
      return "error";
  }
}

// { microphone, camera }: each "ok", "missing", "denied", "busy", "error" or "unsupported".
export async function checkDevices() {
  if (!navigator.mediaDevices?.getUserMedia) return { microphone: "unsupported", camera: "unsupported" };
  try {
    // One request for both: a browser asks the person once.
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    for (const track of stream.getTracks()) track.stop();
    return { microphone: "ok", camera: "ok" };
  } catch {
    // Then each alone, to tell which one is the problem.
  }
  const result = {};
  for (const [kind, constraints] of DEVICES) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      for (const track of stream.getTracks()) track.stop();
      result[kind] = "ok";
    } catch (error) {
      result[kind] = statusOf(error);
    }
  }
  return result;
}

// Draws the check into `panel` and runs it; `onResult(result)` after every run (the
// first one and each retry). Returns { result, run }.
export function mountDeviceCheck(panel, { onResult = () => {} } = {}) {
  panel.classList.add("device-check");
  panel.innerHTML = `
    <h2></h2>
    <ul class="device-list" style="list-style:none;padding:0;margin:8px 0;display:flex;gap:8px;flex-wrap:wrap"></ul>
    <p class="device-advice" role="alert" hidden></p>
    <button type="button" class="device-retry"></button>`;
  panel.querySelector("h2").textContent = t("devices.title");
  const retry = panel.querySelector(".device-retry");
  retry.textContent = t("devices.retry");
  const list = panel.querySelector(".device-list");
  const advice = panel.querySelector(".device-advice");
  const check = { result: null, run: null };

  function render(result) {
    list.replaceChildren();
    for (const [kind] of DEVICES) {
      const item = document.createElement("li");
      item.dataset.device = kind;
      item.dataset.status = result ? result[kind] : "checking";
      const status = result ? t(`devices.status.${result[kind]}`) : t("devices.checking");
      item.textContent = t("devices.line", { device: t(`devices.${kind}`), status });
      item.className = `badge ${!result ? "" : result[kind] === "ok" ? "online" : "disabled"}`;
      list.append(item);
    }
    const problems = result ? DEVICES.map(([kind]) => kind).filter((kind) => result[kind] !== "ok") : [];
    panel.dataset.state = !result ? "checking" : problems.length ? "problem" : "ok";
    retry.hidden = !result || !problems.length;
    advice.hidden = !problems.length;
    advice.textContent = problems
      .map((kind) => t(`devices.advice.${kind}.${result[kind] === "denied" ? "denied" : "missing"}`))
      .join(" ");
  }

  check.run = async () => {
    retry.disabled = true;
    render(null);
    const result = await checkDevices();
    check.result = result;
    render(result);
    retry.disabled = false;
    onResult(result);
    return result;
  };
  retry.addEventListener("click", () => check.run());
  check.run();
  return check;
}
