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
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
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

  function openPanel(host) {
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
      if (isPoll(evt.detail.elt) && boardBusy()) evt.preventDefault();
      var link = evt.detail.elt;
      var card = link && link.closest && link.closest(".card");
      if (card && link.classList.contains("card-title")) openerRef = card.dataset.ref;
    });

    document.body.addEventListener("htmx:beforeSwap", function (evt) {
      // A poll answer that lands mid-drag is out of date: drop it, the next one comes soon.
      if (isPoll(evt.detail.requestConfig && evt.detail.requestConfig.elt) && boardBusy()) {
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
    });

    document.body.addEventListener("htmx:afterSwap", function (evt) {
      if (evt.detail.target && evt.detail.target.id === "panel-host") openPanel(evt.detail.target);
    });

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

    // Leave out empty filters, so shared board addresses stay short.
    document.body.addEventListener("htmx:configRequest", function (evt) {
      if (evt.detail.verb !== "get" || !evt.detail.elt.classList.contains("board-filters")) return;
      var params = evt.detail.parameters;
      Object.keys(params).forEach(function (name) { if (params[name] === "") delete params[name]; });
    });

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
