// Opens the card of a clicked [n] marker in the source panel; capture phase, so the chat's
// own link handling never sees the click.
document.addEventListener("click", (event) => {
  const marker = event.target.closest ? event.target.closest("a[data-src]") : null;
  if (!marker) return;
  event.preventDefault();
  event.stopPropagation();
  const panel = document.getElementById("source-panel");
  const card = panel && panel.querySelector("#" + CSS.escape(marker.dataset.src));
  if (!card) return;
  panel.querySelectorAll(".source-card.active").forEach((c) => c.classList.remove("active"));
  document.querySelectorAll("a.cite.selected").forEach((m) => m.classList.remove("selected"));
  card.classList.add("active");
  marker.classList.add("selected");
  card.scrollIntoView({block: "nearest", behavior: "smooth"});
}, true);
