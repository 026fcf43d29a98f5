// Support Desk: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Times come from the server already in the reader's chosen zone (support/timezones.py).

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "toast" + (kind ? " toast-" + kind : "");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 7000);
  }

  function textOf(html) {
    return new DOMParser().parseFromString(html || "", "text/html").body.textContent.trim();
  }

  // Check attachment sizes before a byte is uploaded; the server checks again.
  function checkFiles(input) {
    var max = parseInt(input.dataset.maxBytes, 10);
    var maxCount = parseInt(input.dataset.maxCount, 10);
    var files = Array.prototype.slice.call(input.files || []);
    var problem = "";
    if (maxCount && files.length > maxCount) {
      problem = "You can attach up to " + maxCount + " files to one message.";
    }
    files.forEach(function (file) {
      if (!problem && max && file.size > max) {
        problem = "“" + file.name + "” is " + (file.size / 1048576).toFixed(1) +
          " MB; each file can be at most " + Math.round(max / 1048576) + " MB.";
      }
    });
    input.setCustomValidity(problem);
    var field = input.closest(".field");
    var note = field && field.querySelector(".client-error");
    if (!note && field) {
      note = document.createElement("small");
      note.className = "field-error client-error";
      note.setAttribute("role", "alert");
      field.appendChild(note);
    }
    if (note) note.textContent = problem;
    input.setAttribute("aria-invalid", problem ? "true" : "false");
    return !problem;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=file][data-max-bytes]")) {
      checkFiles(event.target);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var bad = Array.prototype.slice.call(form.querySelectorAll("input[type=file][data-max-bytes]"))
      .filter(function (input) { return !checkFiles(input); });
    if (bad.length) {
      event.preventDefault();
      event.stopImmediatePropagation();
      bad[0].focus();
      return;
    }
    // Plain (non-htmx) forms: one click, one submission.
    if (!form.hasAttribute("hx-post")) {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        setTimeout(function () { b.disabled = true; }, 0);
      });
    }
  }, true);

  // "Insert link" on suggested articles (templates/kb/_suggestions.html): put
  // "Title: URL" into the reply box named by data-insert-into, at the cursor;
  // on a page without that box, copy it for pasting elsewhere.
  function insertAtCursor(box, text) {
    var start = typeof box.selectionStart === "number" ? box.selectionStart : box.value.length;
    var end = typeof box.selectionEnd === "number" ? box.selectionEnd : start;
    var before = box.value.slice(0, start);
    var gap = before && !/\s$/.test(before) ? "\n" : "";
    box.value = before + gap + text + box.value.slice(end);
    var caret = (before + gap + text).length;
    box.focus();
    box.setSelectionRange(caret, caret);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function insertTarget(button) {
    try {
      return document.querySelector(button.getAttribute("data-insert-into"));
    } catch (error) {
      return null; // not a valid selector: treat as "no reply box here"
    }
  }

  // Without a reply box on this page the button copies instead: say so.
  function labelInsertButtons(root) {
    root.querySelectorAll("[data-insert-into]").forEach(function (button) {
      if (!insertTarget(button)) button.textContent = "Copy link";
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert-into]");
    if (!button) return;
    var text = button.getAttribute("data-insert-text");
    var box = insertTarget(button);
    if (box) {
      insertAtCursor(box, text);
      toast("Link inserted into your reply.");
    } else if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(
        function () { toast("Link copied: " + text); },
        function () { toast("Copy this link: " + text); }
      );
    } else {
      toast("Copy this link: " + text);
    }
  });

  // After a refused submit, focus goes to the first field in error (not to <body>), so
  // a keyboard or screen-reader user lands on what to fix.
  function focusFirstError(root) {
    var field = root.querySelector && root.querySelector('[aria-invalid="true"]');
    if (!field) return;
    if (field.tagName === "FIELDSET") field = field.querySelector("input, select, textarea") || field;
    field.focus();
  }

  // The element an htmx answer went into. After an outerHTML swap (a form replacing
  // itself) the event's target is the old, detached element: look for its successor.
  function swappedIn(target) {
    if (target && target.isConnected) return target;
    return (target && target.id && document.getElementById(target.id)) || document;
  }

  document.addEventListener("DOMContentLoaded", function () {
    labelInsertButtons(document);
    focusFirstError(document);
    if (!window.htmx) return;
    document.body.addEventListener("htmx:afterSettle", function (event) {
      var xhr = event.detail && event.detail.xhr;
      if (xhr && xhr.status === 422) focusFirstError(swappedIn(event.detail.target));
    });
    htmx.onLoad(labelInsertButtons);

    // A region that refreshes itself (data-keeps-drafts: the ticket summary after news)
    // never wipes a form in it that someone has started to fill in: the refresh waits
    // for the next news. The form's own submit answer replaces it as usual. Checked twice:
    // before the refresh leaves, and when its answer lands (they may start in between).
    function holdsADraft(region) {
      return region && region.hasAttribute && region.hasAttribute("data-keeps-drafts") &&
        region.querySelector("form[data-touched]") !== null;
    }
    document.addEventListener("input", function (event) {
      var form = event.target.form;
      if (form) form.setAttribute("data-touched", "");
    });
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (holdsADraft(event.detail.elt)) event.preventDefault();
    });
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var asker = event.detail.requestConfig && event.detail.requestConfig.elt;
      if (holdsADraft(asker)) event.detail.shouldSwap = false;  // the region's own refresh
    });

    // Suggestions send what the customer typed in a GET URL, which some servers
    // cap at 4 KB (gunicorn): the start of a long description is enough.
    document.body.addEventListener("htmx:configRequest", function (event) {
      var max = parseInt(event.detail.elt.getAttribute("data-max-param-length"), 10);
      var form = event.detail.formData;
      if (!max || !form) return;
      Array.from(form.keys()).forEach(function (name) {
        var value = form.get(name);
        if (typeof value === "string" && value.length > max) form.set(name, value.slice(0, max));
      });
    });
    document.body.addEventListener("htmx:xhr:progress", function (event) {
      var form = event.target.closest && event.target.closest("[data-upload-form]");
      var bar = form && form.querySelector(".upload-progress");
      if (bar && event.detail.lengthComputable && event.detail.total > 200000) {
        bar.hidden = false;
        bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
      }
    });
    document.body.addEventListener("htmx:responseError", function (event) {
      var message = textOf(event.detail.xhr.responseText) || "Something went wrong. Please try again.";
      toast(message, "error");
    });
    document.body.addEventListener("htmx:sendError", function (event) {
      // Polling retries by itself; only tell people about their own actions.
      if (event.detail.elt && event.detail.elt.classList.contains("poller")) return;
      toast("We can't reach the server right now. Your text is still here; try again in a moment.", "error");
    });
    document.body.addEventListener("htmx:afterRequest", function (event) {
      var form = event.detail.elt;
      var bar = form && form.querySelector && form.querySelector(".upload-progress");
      if (bar) bar.hidden = true;
    });
  });
})();
