// A click on a cell of the capacity heatmap opens the drill-down of that resource and
// month (the SKUs loading it and the form to change its hours). The charts themselves are
// drawn by demand/review.js, which handles every data-figure element.
(function () {
  function bind() {
    var el = document.getElementById("capacity-heatmap");
    if (!el || !el.on || el.dataset.bound) return;
    el.dataset.bound = "1";
    el.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (!point) return;
      var url = el.dataset.drillUrl + "?resource=" + point.customdata[0] + "&month=" + point.customdata[1];
      htmx.ajax("GET", url, { target: "#drill", swap: "innerHTML" });
    });
  }
  document.addEventListener("DOMContentLoaded", bind);
  document.addEventListener("htmx:afterSettle", bind);
})();
