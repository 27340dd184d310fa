// The annotated pages kept with a session record: a thumbnail per page that had strokes
// at the end, opening full size. Shared by the record dialog and the replay page.
import { blobUrl } from "./api.js";
import { t } from "./i18n.js";

export async function renderAnnotatedPages(list, pages) {
  list.replaceChildren();
  for (const page of pages) {
    const image = document.createElement("img");
    image.alt = t("board.annotatedPage", { name: page.name, page: page.page, strokes: page.strokes });
    const caption = document.createElement("span");
    caption.textContent = image.alt;
    const link = document.createElement("a");
    link.target = "_blank";
    link.append(image, caption);
    const item = document.createElement("li");
    item.dataset.document = page.document;
    item.dataset.page = String(page.page);
    item.append(link);
    list.append(item);
    const url = await blobUrl(page.url).catch(() => null);
    if (url) {
      image.src = url;
      link.href = url;
    }
  }
}
