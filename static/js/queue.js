/* The queue: "select every ticket on this page" (the row boxes work without it). */
(function () {
  "use strict";

  function boxes(root) {
    return root.querySelectorAll('input[name="ticket"][form="bulk-form"]');
  }

  function wire(root) {
    var all = root.querySelector("[data-select-all]");
    if (!all) { return; }
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes(document).forEach(function (box) { box.checked = all.checked; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:load", function (event) { wire(event.target); });
  // After a bulk action, the summary takes focus, so screen readers and keyboards follow.
  document.addEventListener("htmx:afterSettle", function (event) {
    var summary = event.target.querySelector && event.target.querySelector(".bulk-summary");
    if (summary) { summary.focus(); }
  });
})();
