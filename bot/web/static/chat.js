// kefu web chat: posts what the visitor writes or presses, shows what the
// shop answers as it arrives (server-sent events), and retries a post that
// failed with the same id so it is never handled twice.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var status = document.getElementById("status");
  var seen = {};      // outbox ids already shown
  var mine = {};      // ids of messages this page posted
  var last = Number(root.dataset.last) || 0;

  Array.prototype.forEach.call(log.children, function (li) {
    if (li.dataset.id) seen[li.dataset.id] = true;
    if (li.dataset.ext) mine[li.dataset.ext] = true;
  });

  function newID() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function scroll() { log.scrollTop = log.scrollHeight; window.scrollTo(0, document.body.scrollHeight); }

  function buttons(rows) {
    var box = document.createElement("div");
    box.className = "buttons";
    rows.forEach(function (row) {
      var r = document.createElement("div");
      r.className = "row";
      row.forEach(function (b) {
        var el = document.createElement("button");
        el.type = "button";
        el.className = "chip";
        el.dataset.data = b.data;
        el.textContent = b.label;
        r.appendChild(el);
      });
      box.appendChild(r);
    });
    return box;
  }

  function fill(li, m) {
    li.textContent = "";
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = m.text;
    li.appendChild(bubble);
    if (m.buttons && m.buttons.length) li.appendChild(buttons(m.buttons));
  }

  function show(m) {
    var empty = document.getElementById("empty");
    if (empty) empty.remove();
    if (m.id) {
      if (seen[m.id]) return;
      seen[m.id] = true;
      last = Math.max(last, m.id);
    }
    if (m.dir === "in" && m.ext && mine[m.ext]) return;
    if (m.edit) {
      var old = log.querySelector('li[data-pid="' + m.edit + '"]');
      if (old) { fill(old, m); return; }
    }
    var li = document.createElement("li");
    li.className = "msg " + m.dir + (m.kind ? " " + m.kind : "");
    if (m.id) { li.dataset.id = m.id; li.dataset.pid = m.pid; }
    if (m.ext) li.dataset.ext = m.ext;
    fill(li, m);
    log.appendChild(li);
    scroll();
  }

  // post sends one message; on failure it tries again, same id, with backoff.
  function post(body, li, attempt) {
    attempt = attempt || 0;
    if (root.dataset.lang) body.lang = root.dataset.lang;
    return fetch("/chat/send", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.status >= 500 || r.status === 429) throw new Error("status " + r.status);
      if (li) li.classList.remove("sending", "failed");
      status.textContent = "";
    }).catch(function () {
      if (li) li.classList.add("failed");
      status.textContent = root.dataset.errSend;
      if (attempt < 6) setTimeout(function () { post(body, li, attempt + 1); }, Math.min(1000 * Math.pow(2, attempt), 15000));
    });
  }

  function say(text, label) {
    var id = newID();
    mine[id] = true;
    var li = document.createElement("li");
    li.className = "msg in sending";
    li.dataset.ext = id;
    fill(li, {text: label || text});
    var empty = document.getElementById("empty");
    if (empty) empty.remove();
    log.appendChild(li);
    scroll();
    post({id: id, text: text}, li);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var t = input.value.trim();
    if (!t) return;
    input.value = "";
    input.style.height = "auto";
    say(t);
    input.focus();
  });
  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 160) + "px";
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });

  document.addEventListener("click", function (e) {
    var b = e.target.closest("button.chip");
    if (!b) return;
    if (b.dataset.say) { say(b.dataset.say, b.textContent); return; }
    var li = b.closest("li.msg");
    b.closest(".buttons").querySelectorAll("button").forEach(function (x) { x.disabled = true; });
    b.classList.add("chosen");
    post({id: newID(), data: b.dataset.data, pressed: li ? li.dataset.pid : ""});
  });

  function connect() {
    var es = new EventSource("/chat/events?after=" + last);
    es.addEventListener("message", function (e) { show(JSON.parse(e.data)); });
    es.onopen = function () { root.classList.remove("offline"); if (status.textContent === root.dataset.down) status.textContent = ""; };
    es.onerror = function () {
      root.classList.add("offline");
      status.textContent = root.dataset.down;
      if (es.readyState === EventSource.CLOSED) { setTimeout(connect, 3000); }
    };
  }
  connect();
  scroll();
})();
