// kefu staff inbox: actions go to /inbox/act (each is a staff command the
// engine runs, with a fresh id so a retry is not run twice); the list and
// the open ticket reload when the server says something changed.
(function () {
  "use strict";
  var box = document.getElementById("inbox");
  var list = document.getElementById("list");
  var pane = document.getElementById("pane");
  var toasts = document.getElementById("toasts");
  var live = document.getElementById("live");
  var csrf = box.dataset.csrf;

  function newID() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function toast(text, bad) {
    var d = document.createElement("div");
    d.className = "toast" + (bad ? " bad" : "");
    d.textContent = text;
    toasts.appendChild(d);
    while (toasts.children.length > 3) toasts.firstChild.remove();
    setTimeout(function () { d.remove(); }, 6000);
  }

  function query(extra) {
    var q = box.dataset.query;
    return "/inbox?" + (q ? q + "&" : "") + extra;
  }

  function reloadList() {
    return fetch(query("part=list&t=" + encodeURIComponent(box.dataset.open || "")), {credentials: "same-origin"})
      .then(function (r) { if (r.status === 401) { location.href = "/inbox/login"; } return r.text(); })
      .then(function (h) { list.innerHTML = h; });
  }

  function reloadTicket() {
    var ref = box.dataset.open;
    if (!ref) return Promise.resolve();
    return fetch(query("part=ticket&t=" + encodeURIComponent(ref)), {credentials: "same-origin"})
      .then(function (r) { return r.text(); })
      .then(function (h) {
        if (box.dataset.open !== ref) return; // another ticket was opened meanwhile
        // Keep what staff are typing, as it is now, across the redraw.
        var draft = pane.querySelector("#reply-text");
        var keep = draft ? draft.value : "";
        var focused = document.activeElement && document.activeElement.id === "reply-text";
        pane.innerHTML = h;
        var d = pane.querySelector("#reply-text");
        if (d) { d.value = keep; if (focused) d.focus(); }
        var t = pane.querySelector("#thread");
        if (t) t.scrollTop = t.scrollHeight;
      });
  }

  var pending = null;
  function refreshSoon() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; reloadList(); reloadTicket(); }, 150);
  }

  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.classList.contains("act")) return;
    e.preventDefault();
    var fd = new FormData(f, e.submitter);
    if (fd.get("action") === "compensate") fd.set("text", (fd.get("kind") + " " + (fd.get("value") || "")).trim());
    fd.set("id", newID());
    var sent = f.classList.contains("reply-form") ? fd.get("text") : null;
    var btns = f.querySelectorAll("button");
    btns.forEach(function (b) { b.disabled = true; });
    fetch("/inbox/act", {method: "POST", body: new URLSearchParams(fd), credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": csrf}})
      .then(function (r) {
        if (r.status === 401) { location.href = "/inbox/login"; return; }
        if (!r.ok) throw new Error("status " + r.status);
        // The pane may have been redrawn meanwhile: clear the live box, but
        // only if it still holds what was sent.
        var ta = pane.querySelector("#reply-text");
        if (ta && sent !== null && ta.value === sent) ta.value = "";
        refreshSoon();
      })
      .catch(function () { toast(box.dataset.err, true); })
      .finally(function () { btns.forEach(function (b) { b.disabled = false; }); });
  });

  // Ctrl/Cmd+Enter in the reply box sends the reply.
  pane.addEventListener("keydown", function (e) {
    if (e.target.id === "reply-text" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      e.target.form.requestSubmit(e.target.form.querySelector('button[value="reply"]'));
    }
  });

  document.getElementById("filters").addEventListener("change", function (e) { e.currentTarget.submit(); });

  // Opening a ticket swaps the pane without a full reload.
  list.addEventListener("click", function (e) {
    var a = e.target.closest("a.ticket-row");
    if (!a || e.metaKey || e.ctrlKey) return;
    e.preventDefault();
    box.dataset.open = a.dataset.ref;
    box.classList.add("has-open");
    history.pushState(null, "", a.href);
    list.querySelectorAll("a.ticket-row").forEach(function (x) { x.classList.toggle("active", x === a); });
    reloadTicket();
  });
  window.addEventListener("popstate", function () { location.reload(); });

  function connect() {
    var es = new EventSource("/inbox/events");
    es.onopen = function () { live.textContent = live.dataset.up; live.classList.remove("off"); refreshSoon(); };
    es.onerror = function () {
      live.textContent = live.dataset.down; live.classList.add("off");
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
    es.addEventListener("ticket", function (e) { var d = JSON.parse(e.data); if (d.text) toast(d.text); refreshSoon(); });
    es.addEventListener("conversation", function () { refreshSoon(); });
    es.addEventListener("notice", function (e) { var d = JSON.parse(e.data); toast(d.text); refreshSoon(); });
  }
  connect();
  var t = pane.querySelector("#thread");
  if (t) t.scrollTop = t.scrollHeight;
})();
