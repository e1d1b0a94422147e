// Progressive enhancement only: every form works without this file.
document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.querySelector(".navtoggle");
  var nav = document.getElementById("mainnav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  var token = document.querySelector('meta[name="csrf-token"]');
  document.body.addEventListener("htmx:configRequest", function (evt) {
    if (token) { evt.detail.headers["X-CSRFToken"] = token.content; }
  });
  document.querySelectorAll("[data-print]").forEach(function (el) {
    el.addEventListener("click", function () { window.print(); });
  });
  // A job page reloads itself once the job's progress element says it is over.
  document.querySelectorAll("[data-reload-when-done]").forEach(function (box) {
    var t = setInterval(function () {
      var el = document.getElementById(box.dataset.reloadWhenDone);
      if (el && (el.dataset.status === "done" || el.dataset.status === "failed")) {
        clearInterval(t);
        location.reload();
      }
    }, 1000);
  });
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (e) { if (!confirm(el.dataset.confirm)) { e.preventDefault(); } });
  });
});
