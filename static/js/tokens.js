// API tokens page (templates/account/tokens.html): copy a just-made token, and bring
// it into view. Without this file the token is still there to select and copy by hand.
(function () {
  "use strict";

  function toast(message) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "toast";
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 5000);
  }

  function fallback(input) {
    input.focus();
    input.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy-from"));
    if (!input) return;
    function done() {
      button.textContent = "Copied";
      toast("Token copied. Paste it where it is needed: it will not be shown again.");
    }
    function failed() {
      if (fallback(input)) done();
      else toast("Select the token and copy it with Ctrl+C (⌘C on a Mac).");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, failed);
    } else {
      failed();
    }
  }

  function setUp(root) {
    root.querySelectorAll("[data-copy-from]").forEach(function (button) { button.hidden = false; });
    var fresh = root.querySelector ? root.querySelector("#new-token") : null;
    if (!fresh && root.id === "new-token") fresh = root;
    if (fresh) {
      fresh.scrollIntoView({ block: "start" });
      fresh.focus({ preventScroll: true });
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-from]");
    if (button) copy(button);
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  document.addEventListener("DOMContentLoaded", function () {
    setUp(document);
    if (window.htmx) {
      document.body.addEventListener("htmx:afterSwap", function (event) { setUp(event.detail.elt); });
    }
  });
})();
