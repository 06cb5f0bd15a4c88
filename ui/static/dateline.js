// Runs as js_on_load of the article panel (gr.HTML): `element`, `props` and `server` are Gradio's.
// One document-wide listener (chat bubbles and the sources list are rendered elsewhere) sends a
// click on a citation to Python and shows the article with the cited sentence highlighted.
const panel = element;
async function datelineShow(articleId, sentence) {
  panel.classList.add("dl-loading");
  try {
    props.value = await server.open_article([articleId, sentence]);
  } catch (err) {
    props.value = '<div class="dl-article empty"><p>The article could not be opened. ' +
      "Reload the page and try again.</p></div>";
  }
  panel.classList.remove("dl-loading");
  // Wait for the template to re-render, then bring the highlighted sentence into view.
  setTimeout(() => {
    const mark = panel.querySelector("#hl");
    if (mark) {
      mark.scrollIntoView({ block: "center", behavior: "smooth" });
      mark.classList.add("dl-flash");
    }
  }, 60);
}
window.datelineShow = datelineShow;
if (!window.datelineCitesBound) {
  window.datelineCitesBound = true;
  document.addEventListener(
    "click",
    (ev) => {
      const link = ev.target instanceof Element ? ev.target.closest("a.cite, a.ev-open") : null;
      if (!link) return;
      // data-* where they survive; the chat's sanitiser keeps only href="#cite=ID:SENTENCE".
      const ref = /#cite=([^:]+):(-?\d+)$/.exec(link.getAttribute("href") || "");
      const articleId = link.dataset.article || (ref && ref[1]);
      if (!articleId) return;
      ev.preventDefault();
      ev.stopPropagation();
      document.querySelectorAll(".cite-active").forEach((el) => el.classList.remove("cite-active"));
      link.classList.add("cite-active");
      const n = parseInt(link.dataset.sentence || (ref && ref[2]) || "", 10);
      window.datelineShow(decodeURIComponent(articleId), Number.isNaN(n) ? null : n);
    },
    true,
  );
}
