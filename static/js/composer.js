// The ticket panel's composer: Reply and Internal note are two modes (the CSS shows which
// through :has(), so it works without this file). Here: switching modes with text typed
// asks first, so a note never becomes a reply (or the reverse) by a stray click; the
// placeholder follows the mode; Escape in the text box keeps the draft.
(function () {
  "use strict";

  var PLACEHOLDERS = {
    reply: "Write to the customer…",
    note: "Write a note for the team (the customer never sees it)…",
  };

  function modeOf(form) {
    var checked = form.querySelector("input[name=mode]:checked");
    return checked ? checked.value : "reply";
  }

  function show(form) {
    var mode = modeOf(form);
    form.classList.toggle("is-note", mode === "note");
    var box = form.querySelector("textarea[name=body]");
    if (box) box.placeholder = PLACEHOLDERS[mode] || "";
  }

  function setUp(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("form[data-composer]").forEach(function (form) {
      form.dataset.mode = modeOf(form);
      show(form);
    });
  }

  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches("form[data-composer] input[name=mode]")) return;
    var form = radio.form;
    var box = form.querySelector("textarea[name=body]");
    var typed = box && box.value.trim() !== "";
    if (typed && form.dataset.mode && form.dataset.mode !== radio.value) {
      var question = radio.value === "reply"
        ? "Turn this note into a reply? The customer will read it when you send it."
        : "Turn this reply into an internal note? Only the team will see it.";
      if (!window.confirm(question)) {
        var back = form.querySelector("input[name=mode][value=\"" + form.dataset.mode + "\"]");
        // Focus goes back with the choice: an arrow key had moved it to the refused
        // radio, and a focused radio that is not the checked one reads as chosen.
        if (back) { back.checked = true; back.focus(); }
        show(form);
        return;
      }
    }
    form.dataset.mode = radio.value;
    show(form);
  });

  // Escape in a composer with a draft must not close the panel (board.js closes it on
  // Escape): stop it here and keep the text.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var box = event.target;
    if (box && box.matches && box.matches("form[data-composer] textarea") && box.value.trim() !== "") {
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:afterSettle", function (event) { setUp(event.target); });
})();
