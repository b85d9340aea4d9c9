/* Draw every chart of the page from its JSON figure (plotly.js is already on the page). */
(function () {
  "use strict";
  function draw(root) {
    var nodes = (root || document).querySelectorAll("div.chart[data-figure]");
    nodes.forEach(function (el) {
      var src = document.getElementById(el.getAttribute("data-figure"));
      if (!src || el.getAttribute("data-drawn")) { return; }
      var fig = JSON.parse(src.textContent);
      var config = { displaylogo: false, responsive: true };
      window.Plotly.newPlot(el, fig.data, fig.layout, config).then(function () {
        el.setAttribute("data-drawn", "1");
      });
    });
  }
  window.truefansDrawCharts = draw;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(); });
  } else {
    draw();
  }
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("div.chart[data-drawn]").forEach(function (el) {
      window.Plotly.Plots.resize(el);
    });
  });
})();
