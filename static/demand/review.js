// Draws every plotly figure carried in a data-figure attribute, on load and after htmx swaps.
(function () {
  function draw(root) {
    (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
      var fig = JSON.parse(el.dataset.figure);
      Plotly.react(el, fig.data, fig.layout, { responsive: true, displaylogo: false });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.detail.elt); });
})();
