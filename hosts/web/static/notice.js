// A short notice over the page (an error unless `kind` says otherwise); it fades after 6 s.
// Its own module: the customer's join page needs it without the staff shell.
export function notify(text, kind = "error") {
  let box = document.querySelector("#notice");
  if (!box) {
    box = document.createElement("div");
    box.id = "notice";
    document.body.append(box);
  }
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.className = `notice ${kind}`;
  box.textContent = text;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => box.classList.add("hidden"), 6000);
}
