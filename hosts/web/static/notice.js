// Short notices over the page (an error unless `kind` says otherwise), newest last; each
// fades by itself, an error after 10 s and anything else after 6 s. They stack rather than
// replace one another: a late error (a camera that is missing, say) must not wipe the
// confirmation the user is reading, nor a confirmation an error. The same notice again is
// renewed where it stands; the oldest goes when a fourth comes.
// Its own module: the customer's join page needs it without the staff shell.
const SHOWN_MS = { error: 10_000, other: 6_000 };
const MOST = 3;

export function notify(text, kind = "error") {
  let stack = document.querySelector("#notice");
  if (!stack) {
    stack = document.createElement("div");
    stack.id = "notice";
    stack.className = "notice-stack";
    document.body.append(stack);
  }
  let item = [...stack.children].find((el) => el.dataset.kind === kind && el.textContent === text);
  if (!item) {
    item = document.createElement("div");
    item.className = `notice ${kind}`;
    item.dataset.kind = kind;
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    item.textContent = text;
    stack.append(item);
  }
  while (stack.children.length > MOST) stack.firstElementChild.remove();
  clearTimeout(item._timer);
  item._timer = setTimeout(() => item.remove(), kind === "error" ? SHOWN_MS.error : SHOWN_MS.other);
}
