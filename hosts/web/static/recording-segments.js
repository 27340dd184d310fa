// A session recording's MP4 segments as local object URLs: fetched once each with the
// login in a header (a <video src> cannot send it). Shared by the playback and replay pages.
import { blobUrl } from "./api.js";
import { t } from "./i18n.js";

export function segmentUrls(sessionId) {
  const urls = new Map();
  return (name) => {
    if (!urls.has(name)) {
      const loading = blobUrl(`/api/sessions/${sessionId}/recording/${name}`).catch(() => {
        urls.delete(name);
        throw new Error(t("playback.segmentMissing", { name }));
      });
      urls.set(name, loading);
    }
    return urls.get(name);
  };
}
