// Draws every plotly figure carried in a data-figure attribute, on load and after htmx
// swaps, and scrolls the demand grid so the last history months and the horizon show.
(function () {
  function draw(root) {
    (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
      var fig = JSON.parse(el.dataset.figure);
      Plotly.react(el, fig.data, fig.layout, { responsive: true, displaylogo: false });
    });
  }
  function scrollToHorizon(root) {
    (root || document).querySelectorAll(".grid-scroll").forEach(function (box) {
      var first = box.querySelector("th.first-future");
      var label = box.querySelector("thead th");
      if (!first || !label) return;
      // Keep about a quarter of the visible width for the latest history months.
      box.scrollLeft = first.offsetLeft - label.offsetWidth - box.clientWidth / 4;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(); scrollToHorizon(); });
  document.addEventListener("htmx:afterSettle", function (event) {
    draw(event.detail.elt);
    scrollToHorizon();
  });
})();
