// Behaviours the templates declare in markup, so no page needs an inline script, an inline
// event handler or an inline style (the Content-Security-Policy allows neither):
//
// - <select data-autosubmit>: choosing an option submits its form (the cycle pickers).
// - <form data-confirm="Question?">: submitted only when the user confirms.
// - <form data-no-submit>: Enter in a field never submits it (the grids save by htmx).
// - <input data-select-on-focus>: focusing selects the text (a new API token, to copy).
// - <button data-print>: opens the print dialog.
// - [data-progress="42"]: a progress bar's filled part is 42 % wide; set on load and on
//   every piece of page htmx swaps in (the run and import panels poll).
(function () {
  "use strict";

  // htmx would add a <style> for its request indicators (the policy refuses inline styles:
  // app.css has them) and could eval expressions in attributes (the policy refuses eval).
  // Set before DOMContentLoaded, when htmx merges a page's <meta name="htmx-config">.
  if (window.htmx) {
    window.htmx.config.includeIndicatorStyles = false;
    window.htmx.config.allowEval = false;
  }

  function paint(root) {
    var bars = root.querySelectorAll ? root.querySelectorAll("[data-progress]") : [];
    if (root.matches && root.matches("[data-progress]")) bars = [root].concat(Array.from(bars));
    Array.prototype.forEach.call(bars, function (bar) {
      var value = Math.max(0, Math.min(100, parseFloat(bar.getAttribute("data-progress")) || 0));
      bar.style.width = value + "%";
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.requestSubmit();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-no-submit")) {
      event.preventDefault();
      return;
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input[data-select-on-focus]")) {
      event.target.select();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });

  document.addEventListener("DOMContentLoaded", function () { paint(document); });
  document.addEventListener("htmx:load", function (event) { paint(event.detail.elt); });
})();
