// Times on the staff pages, in the organization's time zone (GET /api/me → timezone),
// whatever zone the browser's computer is set to.

const pad = (n) => String(n).padStart(2, "0");
const formats = new Map();

// The wall-clock fields of an instant in `zone`: {year, month, day, hour, minute, second}.
function fields(instant, zone) {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23",
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    formats.set(zone, format);
  }
  const out = {};
  for (const part of format.formatToParts(instant)) {
    if (part.type !== "literal") out[part.type] = Number(part.value);
  }
  return out;
}

// "2026-01-05 17:30:00" for an ISO time, "-" for none.
export function dateTime(iso, zone) {
  if (!iso) return "-";
  const f = fields(new Date(iso), zone);
  return `${f.year}-${pad(f.month)}-${pad(f.day)} ${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
}

// "2026-01-05" for an ISO time, "-" for none.
export function dateOnly(iso, zone) {
  if (!iso) return "-";
  const f = fields(new Date(iso), zone);
  return `${f.year}-${pad(f.month)}-${pad(f.day)}`;
}

// The instant (ISO, UTC) at which the day `date` ("YYYY-MM-DD") starts in `zone`, plus
// `days` days: a date picked on the page means that day in the organization's zone.
export function startOfDay(date, zone, days = 0) {
  const [y, m, d] = date.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d + days);
  // The zone's offset at that moment, found from its wall clock; twice for DST edges.
  let instant = wall;
  for (let i = 0; i < 2; i += 1) {
    const f = fields(new Date(instant), zone);
    const shown = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
    instant = wall - (shown - instant);
  }
  return new Date(instant).toISOString();
}

// mm:ss, or h:mm:ss from an hour on: a time from the session's start.
export function sessionClock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(s / 3600);
  const rest = `${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return hours ? `${hours}:${rest}` : rest;
}
