// Spreadsheet keys for every <table data-grid>: its editable cells are <input class="grid-input">
// inside <td>, saved by htmx (hx-post, hx-trigger="change") as the page defines them.
//
// - Arrow keys, Tab / Shift+Tab and Enter move between the editable cells, by the table's rows
//   (tr) and the cell's column (td.cellIndex); Left/Right move within the text first. Enter
//   saves and moves down (or on to the next cell when no row below has one).
// - Escape puts back the cell's saved value (data-saved, else what the page rendered).
// - A refused cell (td.refused) takes the focus back; Enter there sends it again even when
//   unchanged, so a retry after choosing a reason submits; an unchanged cell is never sent twice.
// - htmx swaps the grid after a save: focus comes back to the same cell (or the one the
//   planner moved to meanwhile, with what they typed there), the scroll positions stay, and
//   the saved cell is marked for a moment (td.grid-saved).
// - A row pasted from Excel (tab-separated) fills the cell and the following ones, saved one
//   after another (each waits for the previous save's answer; a refusal stops the rest).
// - "Save anyway" ([data-grid-confirm], after a value far outside history) sends the refused
//   cell again with confirmed=1.
(function () {
  "use strict";
  var FORCE = "gridForce";
  var pending = null; // where focus goes back after the swap: {table, row, col, value}
  var scroll = null;
  var saved = null; // {table, row, col} of the cell whose save is in flight
  var queue = []; // pasted values still to save: {table, row, col, value}

  function gridOf(el) { return el.closest && el.closest("table[data-grid]"); }
  function tableKey(table) {
    if (table.id) return "#" + table.id;
    return Array.prototype.indexOf.call(document.querySelectorAll("table[data-grid]"), table);
  }
  function findTable(key) {
    if (typeof key === "string") return document.querySelector("table" + key + "[data-grid]");
    return document.querySelectorAll("table[data-grid]")[key] || null;
  }
  function position(input) {
    var td = input.closest("td"), tr = td.parentElement;
    return { table: tableKey(gridOf(input)), row: tr.rowIndex, col: td.cellIndex };
  }
  function inputAt(table, row, col) {
    var tr = table.rows[row];
    var td = tr && tr.cells[col];
    return td ? td.querySelector("input.grid-input:not([disabled])") : null;
  }
  function cellsOf(table) { return Array.prototype.slice.call(table.querySelectorAll("input.grid-input:not([disabled])")); }
  function savedValue(input) {
    return input.dataset.saved !== undefined ? input.dataset.saved : input.defaultValue;
  }
  function committed(input) {
    return input.dataset.committed !== undefined ? input.dataset.committed : input.defaultValue;
  }

  function move(input, dRow, dCol) {
    var table = gridOf(input), p = position(input);
    var row = p.row + dRow, col = p.col + dCol;
    while (row >= 0 && row < table.rows.length && col >= 0) {
      var target = inputAt(table, row, col);
      if (target) return focusCell(target);
      if (!table.rows[row].cells[col]) break;
      row += dRow; col += dCol;
      if (!dRow && !dCol) break;
    }
    return false;
  }
  function step(input, delta) {
    var cells = cellsOf(gridOf(input)), i = cells.indexOf(input) + delta;
    if (i < 0 || i >= cells.length) return false;
    return focusCell(cells[i]);
  }
  function focusCell(target) {
    target.focus({ preventScroll: false });
    target.select();
    return true;
  }

  function save(input) {
    if (input.value === committed(input) && !input.closest("td").classList.contains("refused")) return;
    input.dataset[FORCE] = "1";
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Every save goes through here: an unchanged cell (the browser's own change event after a
  // save we sent on Enter) is not sent again; a forced one (a retry) is.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("grid-input") || !gridOf(input)) return;
    var forced = input.dataset[FORCE] === "1";
    delete input.dataset[FORCE];
    if (!forced && input.value === committed(input)) {
      event.stopImmediatePropagation();
      return;
    }
    input.dataset.committed = input.value;
    saved = position(input);
    saved.el = input;
  }, true);

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("grid-input") || !gridOf(input)) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var atStart = input.selectionStart === 0 && input.selectionEnd === 0;
    var atEnd = input.selectionStart === input.value.length && input.selectionEnd === input.value.length;
    var whole = input.selectionStart === 0 && input.selectionEnd === input.value.length;
    var moved = false;
    switch (event.key) {
      case "ArrowUp": moved = move(input, -1, 0); break;
      case "ArrowDown": moved = move(input, 1, 0); break;
      case "ArrowLeft": if (atStart || whole) moved = move(input, 0, -1); else return; break;
      case "ArrowRight": if (atEnd || whole) moved = move(input, 0, 1); else return; break;
      case "Tab": moved = step(input, event.shiftKey ? -1 : 1); break;
      case "Enter":
        event.preventDefault();
        save(input);
        if (!move(input, event.shiftKey ? -1 : 1, 0)) step(input, event.shiftKey ? -1 : 1);
        return;
      case "Escape":
        input.value = savedValue(input);
        input.dataset.committed = input.value;
        input.select();
        event.preventDefault();
        return;
      default: return;
    }
    if (moved) event.preventDefault();
  });

  // Moving to another cell with the arrows saves a changed cell, as leaving it does.
  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input.classList && input.classList.contains("grid-input") && gridOf(input)) {
      if (input.value !== committed(input)) save(input);
    }
  });

  document.addEventListener("paste", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("grid-input") || !gridOf(input)) return;
    var text = (event.clipboardData || window.clipboardData).getData("text");
    var row = text.replace(/\r?\n$/, "").split(/\r?\n/)[0];
    if (row.indexOf("\t") < 0) return; // one value: the browser pastes it
    event.preventDefault();
    var cells = cellsOf(gridOf(input)).filter(function (c) { return c.closest("tr") === input.closest("tr"); });
    var start = cells.indexOf(input);
    var values = row.split("\t");
    queue = [];
    for (var i = 0; i < values.length && start + i < cells.length; i++) {
      var p = position(cells[start + i]);
      p.value = values[i].trim();
      queue.push(p);
    }
    next();
  });

  function next() {
    var item = queue.shift();
    if (!item) return;
    var table = findTable(item.table);
    var input = table && inputAt(table, item.row, item.col);
    if (!input) { queue = []; return; }
    input.value = item.value;
    input.focus();
    if (input.value === committed(input)) return next();
    save(input);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-grid-confirm]");
    if (!button) return;
    var scope = button.closest("section, form, body") || document;
    var input = scope.querySelector("table[data-grid] td.refused input.grid-input") ||
      document.querySelector("table[data-grid] td.refused input.grid-input");
    if (!input) return;
    button.disabled = true;
    saved = position(input);
    saved.el = input;
    pending = { table: saved.table, row: saved.row, col: saved.col, value: null };
    htmx.ajax("POST", input.getAttribute("hx-post"), { source: input, values: { confirmed: "1" } });
  });

  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    if (active && active.classList && active.classList.contains("grid-input") && gridOf(active)) {
      var p = position(active);
      p.value = active.value !== active.defaultValue && active.value !== committed(active) ? active.value : null;
      pending = p;
    }
    var boxes = Array.prototype.map.call(document.querySelectorAll("table[data-grid]"), function (t) {
      var box = t.closest(".grid-scroll");
      return { table: tableKey(t), left: box ? box.scrollLeft : 0 };
    });
    scroll = { x: window.scrollX, y: window.scrollY, boxes: boxes };
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var ok = event.detail.xhr && event.detail.xhr.status === 200;
    var config = event.detail.requestConfig;
    // Another request's swap (a pending recompute's poll) keeps the save's mark for its own.
    var done = saved && config && config.elt === saved.el ? saved : null;
    var focus = pending, place = scroll;
    pending = null; scroll = null;
    if (done) saved = null;
    // A refused cell takes the focus back: fix the reason, press Enter there to retry.
    if (done && !ok) focus = { table: done.table, row: done.row, col: done.col, value: null };
    // After the page's own afterSettle handlers (the demand page scrolls to the horizon).
    setTimeout(function () {
      if (place) {
        place.boxes.forEach(function (b) {
          var t = findTable(b.table), box = t && t.closest(".grid-scroll");
          if (box) box.scrollLeft = b.left;
        });
        window.scrollTo(place.x, place.y);
      }
      if (done && ok) {
        var t = findTable(done.table), input = t && inputAt(t, done.row, done.col);
        if (input) {
          var td = input.closest("td");
          td.classList.add("grid-saved");
          setTimeout(function () { td.classList.remove("grid-saved"); }, 1500);
        }
      }
      if (focus && (!ok || !document.activeElement || document.activeElement === document.body)) {
        var table = findTable(focus.table), target = table && inputAt(table, focus.row, focus.col);
        if (target) {
          if (focus.value !== null) target.value = focus.value;
          target.focus({ preventScroll: true });
          target.select();
        }
      }
      if (done && queue.length) {
        if (ok) next(); else queue = [];
      }
    }, 0);
  });
})();
