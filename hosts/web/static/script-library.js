// 话术库 in the session hall: the company's scripts by category, searched by a word in their
// name, keywords or text (the SDK's /api/sop/scripts does the search), next to the SOP card.
import { api } from "./api.js";
import { t, translate } from "./i18n.js";

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export function mountScriptLibrary(panel, { onError = () => {} } = {}) {
  panel.innerHTML = `
    <h2 data-i18n="hall.library.title"></h2>
    <form class="library-search" role="search">
      <input type="search" name="keyword" data-library="keyword" data-i18n-placeholder="hall.library.search" data-i18n-label="hall.library.search">
      <select name="category" data-library="category" data-i18n-label="hall.library.category"></select>
    </form>
    <p class="hint" data-library="status" role="status"></p>
    <ul class="library-list" data-library="list"></ul>`;
  translate(panel);
  const part = (name) => panel.querySelector(`[data-library="${name}"]`);
  const form = panel.querySelector("form");
  const keyword = part("keyword");
  const category = part("category");
  const list = part("list");
  const status = part("status");
  let asked = 0;

  async function search() {
    const mine = ++asked;
    const query = new URLSearchParams();
    if (keyword.value.trim()) query.set("keyword", keyword.value.trim());
    if (category.value) query.set("category_id", category.value);
    let scripts;
    try {
      scripts = (await api("GET", `/api/sop/scripts?${query}`)).items;
    } catch (error) {
      if (mine === asked) onError(error);
      return;
    }
    if (mine !== asked) return; // a newer search is on its way
    list.replaceChildren(
      ...scripts.map((script) => {
        const item = el("li", { className: "library-item" });
        item.dataset.script = script.id;
        const details = el("details", {}, [el("summary", { textContent: script.name }), el("p", { textContent: script.content })]);
        if (script.keywords.length) details.append(el("p", { className: "hint", textContent: script.keywords.join(" · ") }));
        item.append(details);
        return item;
      }),
    );
    status.textContent = scripts.length ? t("hall.library.count", { n: scripts.length }) : t("hall.library.none");
    panel.dataset.loaded = String(mine);
  }

  let timer = 0;
  keyword.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  category.addEventListener("change", search);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    search();
  });

  const ready = (async () => {
    let categories = [];
    try {
      categories = (await api("GET", "/api/sop/categories")).items;
    } catch (error) {
      onError(error);
    }
    const names = Object.fromEntries(categories.map((c) => [c.id, c.name]));
    category.replaceChildren(
      el("option", { value: "", textContent: t("hall.library.allCategories") }),
      ...categories.map((c) =>
        el("option", { value: c.id, textContent: c.parent_id ? `${names[c.parent_id] || ""} › ${c.name}` : c.name }),
      ),
    );
    await search();
  })();
  return { ready, search };
}
