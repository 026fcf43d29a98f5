// Support Desk board: drag and drop, the ticket panel, and live refresh that never
// disturbs a drag. Loaded only on board pages; without it every control still
// works as a plain form or link.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var dragging = false; // a card is in the air
  var moving = null; // {item, parent, next}: a drop waiting for the server's answer
  var origin = null; // where the dragged card came from
  var openerRef = null; // the card whose panel is open, to return focus to it
  var refreshWanted = false; // a board-changed arrived while the board was busy

  function refOf(el) {
    return el && el.classList && el.classList.contains("card") ? el.dataset.ref : "";
  }

  function siblingCard(item, direction) {
    var el = item[direction];
    while (el && !(el.classList && el.classList.contains("card"))) el = el[direction];
    return el;
  }

  // After a drop: post the hidden move form (htmx swaps in the fresh board).
  function submitMove(evt) {
    var item = evt.item;
    var form = document.getElementById("move-form");
    if (!form || (evt.from === evt.to && evt.oldIndex === evt.newIndex)) {
      origin = null;
      return;
    }
    form.elements.ref.value = item.dataset.ref;
    form.elements.version.value = item.dataset.version;
    form.elements.status.value = evt.to.dataset.status;
    form.elements.above.value = refOf(siblingCard(item, "previousElementSibling"));
    form.elements.below.value = refOf(siblingCard(item, "nextElementSibling"));
    moving = { item: item, parent: origin.parent, next: origin.next };
    item.classList.add("card-saving");
    if (form.requestSubmit) form.requestSubmit();
    else htmx.trigger(form, "submit");
  }

  function putBack(move) {
    if (!move || !move.parent) return;
    move.item.classList.remove("card-saving");
    move.parent.insertBefore(move.item, move.next && move.next.parentNode === move.parent ? move.next : null);
  }

  function initSortable(root) {
    if (!window.Sortable) return;
    root.querySelectorAll("ol.cards[data-status]").forEach(function (list) {
      // Sortable.get, not a data- attribute: htmx's history snapshots keep attributes, so
      // a list restored by Back would look set up while nothing listens to it.
      if (Sortable.get(list)) return;
      new Sortable(list, {
        group: "board",
        draggable: ".card",
        filter: "select, button, summary, input, label, .card-move",
        preventOnFilter: false,
        forceFallback: true, // mouse-event dragging: the same in every browser, touch included
        fallbackTolerance: 4, // a click on a card is a click, not a drag
        animation: 150,
        ghostClass: "card-ghost",
        chosenClass: "card-chosen",
        dragClass: "card-drag",
        onStart: function (evt) {
          dragging = true;
          origin = { parent: evt.from, next: evt.item.nextElementSibling };
          document.body.classList.add("is-dragging");
        },
        onEnd: function (evt) {
          dragging = false;
          document.body.classList.remove("is-dragging");
          submitMove(evt);
          if (!moving) refreshIfWanted(false); // dropped where it was: catch up now
        },
      });
    });
  }

  function isPoll(elt) {
    return elt && elt.hasAttribute && elt.hasAttribute("data-board-poll");
  }

  // Someone is using a control on the board: a refresh now would take it away.
  function boardBusy() {
    var active = document.activeElement;
    var board = document.getElementById("board");
    var typing = active && board && board.contains(active) && active.matches("select, input, summary, button");
    var openMenu = board && board.querySelector(".card-move[open]");
    return dragging || moving || typing || openMenu;
  }

  function isMoveForm(elt) {
    return elt && (elt.id === "move-form" || (elt.closest && elt.closest(".card-move")));
  }

  // A board-changed that came while the board was busy was held back (see
  // htmx:beforeRequest): fetch the board now. `force` when the busy control is the move
  // that just ended (a refused card keeps focus in its menu, and its old version).
  var forcing = false;
  function refreshIfWanted(force) {
    if (!refreshWanted || (!force && boardBusy())) return;
    refreshWanted = false;
    forcing = force;
    try {
      htmx.trigger(document.body, "board-changed"); // the poll asks at once (synchronously)
    } finally {
      forcing = false;
    }
  }

  // The filter form is outside #board and never swapped, so Back/Forward restore it
  // from htmx's snapshot, whose controls show how the page was first served, not the
  // address. The address is the truth (as BoardFilters reads it): set them from it.
  var FLAG_ON = ["1", "on", "true", "yes"];
  function syncFilters() {
    var form = document.querySelector("form.board-filters");
    if (!form) return;
    var params = new URLSearchParams(location.search);
    Array.prototype.forEach.call(form.elements, function (control) {
      if (!control.name) return;
      var value = params.get(control.name);
      if (control.type === "checkbox") {
        control.checked = value !== null && FLAG_ON.indexOf(value) >= 0;
      } else if (control.tagName === "SELECT") {
        control.value = value || "";
        if (control.selectedIndex < 0) control.value = ""; // not one of its options
      } else if (control.type === "search" || control.type === "text") {
        control.value = value || "";
      }
    });
  }

  // Where keyboard focus was on the board before a refresh swapped it: the same control
  // of the same card (or the same id) gets it back, so a refresh never drops it to <body>.
  function focusSpot() {
    var active = document.activeElement;
    var board = document.getElementById("board");
    if (!active || !board || !board.contains(active)) return null;
    var card = active.closest(".card");
    if (active.id) return "#" + CSS.escape(active.id);
    if (card && card.id) {
      var cls = Array.prototype.find.call(active.classList, function (c) { return c; });
      return "#" + CSS.escape(card.id) + " " + (cls ? "." + CSS.escape(cls) : active.tagName.toLowerCase());
    }
    return null;
  }

  function restoreFocus(spot) {
    var el = spot && document.querySelector(spot);
    if (el && document.activeElement !== el) el.focus({ preventScroll: true });
  }

  function announce(text) {
    var region = document.getElementById("board-announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50); // a change is what is read
  }

  // The open panel is a modal dialog: Tab stays inside it (the board under it is inert).
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
    "select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";
  var tabbingBack = false;
  function openHost() {
    var host = document.getElementById("panel-host");
    return host && host.classList.contains("is-open") ? host : null;
  }
  function trapTab(evt) {
    if (evt.key === "Tab") tabbingBack = evt.shiftKey;
  }
  // Focus that leaves the open panel (Tab past its last control, a click on the board
  // behind it) wraps round to its first control, or its last when going backwards.
  function keepFocusInside(evt) {
    var host = openHost();
    if (!host || host.contains(evt.target)) return;
    var items = Array.prototype.filter.call(host.querySelectorAll(FOCUSABLE), function (el) {
      return el.getClientRects().length > 0 && el.tabIndex >= 0;
    });
    if (items.length) items[tabbingBack ? items.length - 1 : 0].focus();
  }

  function openPanel(host) {
    host.setAttribute("role", "dialog");
    host.setAttribute("aria-modal", "true");
    host.setAttribute("aria-labelledby", "panel-title");
    host.classList.add("is-open");
    document.body.classList.add("panel-open");
    var panel = host.querySelector(".ticket-panel");
    if (panel) {
      panel.focus({ preventScroll: true });
      var body = panel.querySelector(".panel-main");
      var composer = panel.querySelector("#composer");
      if (body && composer) body.scrollTop = body.scrollHeight; // latest events and the reply box
    }
  }

  function closePanel() {
    var host = document.getElementById("panel-host");
    if (!host || !host.classList.contains("is-open")) return;
    host.classList.remove("is-open");
    host.removeAttribute("role");
    host.removeAttribute("aria-modal");
    host.innerHTML = "";
    document.body.classList.remove("panel-open");
    // The board may have refreshed meanwhile: find the card again by its reference.
    var link = openerRef && document.querySelector("#card-" + openerRef + " .card-title");
    if (link) link.focus();
    openerRef = null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.htmx) return;
    htmx.onLoad(initSortable);

    document.body.addEventListener("htmx:beforeRequest", function (evt) {
      if (isPoll(evt.detail.elt) && forcing) {
        evt.detail.xhr.boardForced = true; // its answer is swapped in too (htmx:beforeSwap)
      } else if (isPoll(evt.detail.elt) && boardBusy()) {
        evt.preventDefault();
        // Polls come again by themselves; a change someone announced must not be lost.
        var cause = evt.detail.requestConfig && evt.detail.requestConfig.triggeringEvent;
        if (cause && cause.type === "board-changed") refreshWanted = true;
      }
      var link = evt.detail.elt;
      var card = link && link.closest && link.closest(".card");
      if (card && link.classList.contains("card-title")) openerRef = card.dataset.ref;
    });

    var spotBeforeSwap = null;
    document.body.addEventListener("htmx:beforeSwap", function (evt) {
      if (evt.detail.target && evt.detail.target.id === "board") spotBeforeSwap = focusSpot();
      // A poll answer that lands mid-drag is out of date: drop it, the next one comes soon.
      var poll = isPoll(evt.detail.requestConfig && evt.detail.requestConfig.elt);
      if (poll && boardBusy() && !evt.detail.xhr.boardForced) {
        evt.detail.shouldSwap = false;
        return;
      }
      // 409 from a panel form: the body is the fresh panel saying who changed the ticket.
      var target = evt.detail.target;
      if (evt.detail.xhr.status === 409 && target && target.closest && target.closest("[data-swap-conflict]")) {
        evt.detail.shouldSwap = true;
        evt.detail.isError = false;
      }
    });

    document.body.addEventListener("htmx:afterRequest", function (evt) {
      if (evt.detail.elt && evt.detail.elt.id === "move-form") {
        var move = moving;
        moving = null;
        if (!evt.detail.successful) putBack(move); // refused: the card snaps back
      }
      // A refused move answers with board-changed (the card's version may be stale):
      // it came while the move was in flight, so fetch the board now it is over.
      if (isMoveForm(evt.detail.elt)) {
        if (evt.detail.successful) refreshWanted = false; // the answer is the fresh board
        else refreshIfWanted(true);
      }
    });

    document.body.addEventListener("htmx:afterSwap", function (evt) {
      if (evt.detail.target && evt.detail.target.id === "panel-host") openPanel(evt.detail.target);
    });

    // The board was swapped: a refresh gives focus back where it was; a move from a card's
    // menu puts it on the moved card's title and says where the card went.
    document.body.addEventListener("htmx:afterSettle", function (evt) {
      var elt = (evt.detail.requestConfig && evt.detail.requestConfig.elt) || evt.detail.elt;
      var menu = elt && elt.closest && elt.closest(".card-move form");
      if (menu && evt.detail.successful !== false && document.getElementById("board")) {
        var ref = menu.elements.ref.value;
        var title = document.querySelector("#card-" + CSS.escape(ref) + " .card-title");
        var column = title && title.closest("[data-status]");
        var label = column && document.getElementById("col-" + column.dataset.status);
        if (title) title.focus({ preventScroll: false });
        announce(ref + " moved to " + (label ? label.textContent.trim() : "its new column") + ".");
        spotBeforeSwap = null;
        return;
      }
      if (spotBeforeSwap && evt.detail.target && evt.detail.target.id === "board") {
        restoreFocus(spotBeforeSwap);
        spotBeforeSwap = null;
      }
    });
    document.addEventListener("keydown", trapTab, true);
    document.addEventListener("focusin", keepFocusInside);

    // After a panel form answers, show what matters: the problem if there is one,
    // else (for the reply box) the newest events just above it.
    var panelForm = null;
    document.body.addEventListener("htmx:beforeRequest", function (evt) {
      var elt = evt.detail.elt;
      if (elt && elt.matches && elt.matches("#ticket-panel form")) panelForm = elt;
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      var panel = document.getElementById("ticket-panel");
      if (!panel || !panelForm) return;
      var fromComposer = panelForm.id === "composer";
      panelForm = null;
      var problem = panel.querySelector(".panel-body [role=alert], .panel-body [aria-invalid=true]");
      var main = panel.querySelector(".panel-main");
      if (problem) problem.scrollIntoView({ block: "center" });
      else if (fromComposer && main) main.scrollTop = main.scrollHeight;
    });

    // Leave out empty filters, so shared board addresses stay short, and put the rest in
    // the form's order: typing (the search box's own request) and a filter change then
    // write the same address for the same filters.
    document.body.addEventListener("htmx:configRequest", function (evt) {
      var elt = evt.detail.elt;
      var form = elt.closest && elt.closest(".board-filters");
      if (evt.detail.verb !== "get" || !form) return;
      var params = evt.detail.parameters;
      var values = {};
      Object.keys(params).forEach(function (name) {
        if (params[name] !== "") values[name] = params[name];
        delete params[name];
      });
      Array.prototype.forEach.call(form.elements, function (control) {
        if (Object.prototype.hasOwnProperty.call(values, control.name)) {
          params[control.name] = values[control.name];
          delete values[control.name];
        }
      });
      Object.keys(values).forEach(function (name) { params[name] = values[name]; });
    });

    // Typing replaces the address (index.html); a filter change pushes one. Pushing the
    // address already shown (Enter after the results came) would add a Back step that
    // changes nothing: make it a replace. (htmx 2.0 hands the live update object here.)
    document.body.addEventListener("htmx:beforeHistoryUpdate", function (evt) {
      var update = evt.detail.history;
      if (!update || update.type !== "push" || !document.querySelector("form.board-filters")) return;
      var target = new URL(update.path, location.href);
      if (target.pathname + target.search === location.pathname + location.search) update.type = "replace";
    });

    // Back/Forward: htmx put a snapshot of the page back (or fetched it on a cache miss).
    document.body.addEventListener("htmx:historyRestore", function () {
      syncFilters();
      refreshWanted = true; // the snapshot's cards (and their versions) may be old
      refreshIfWanted(false);
    });
    window.addEventListener("popstate", function () { setTimeout(syncFilters, 0); });
    window.addEventListener("pageshow", syncFilters); // the browser's own back/forward cache

    document.addEventListener("click", function (evt) {
      var close = evt.target.closest && evt.target.closest("[data-close-panel]");
      if (close && close.closest("#panel-host")) {
        evt.preventDefault();
        closePanel();
        return;
      }
      var host = document.getElementById("panel-host");
      if (host && evt.target === host) closePanel(); // a click on the backdrop
    });

    document.addEventListener("keydown", function (evt) {
      if (evt.key === "Escape" && !dragging) closePanel();
    });
  });
})();
