  // Injected by <script src=".../chat/embed.js" async></script>: a button in
  // the corner that opens the shop's kefu chat in a frame.
  "use strict";
  if (document.getElementById("kefu-chat-launcher")) return;
  var open = false, frame = null;
  var btn = document.createElement("button");
  btn.id = "kefu-chat-launcher";
  btn.type = "button";
  btn.textContent = cfg.open;
  btn.setAttribute("aria-expanded", "false");
  btn.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;padding:12px 18px;background:#0f766e;color:#fff;font:600 15px system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.2);cursor:pointer";
  btn.addEventListener("click", function () {
    open = !open;
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.src = cfg.url;
      frame.title = cfg.open;
      frame.style.cssText = "position:fixed;right:20px;bottom:76px;z-index:2147483000;width:min(380px,calc(100vw - 40px));height:min(600px,calc(100vh - 110px));border:0;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.25);background:#fff";
      document.body.appendChild(frame);
    }
    frame.style.display = open ? "block" : "none";
    btn.textContent = open ? cfg.close : cfg.open;
    btn.setAttribute("aria-expanded", String(open));
  });
  document.body.appendChild(btn);
