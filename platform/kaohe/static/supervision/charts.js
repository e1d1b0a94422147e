/* Draw every chart whose ECharts option the server embedded in the page:
   <div class="chart" data-chart="ID"></div> + <script type="application/json" id="ID-data">…</script>.
   No network: echarts.min.js is served from our own static files. */
(function () {
  function draw() {
    if (!window.echarts) { return; }
    var nodes = document.querySelectorAll('[data-chart]');
    var charts = [];
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var src = document.getElementById(el.getAttribute('data-chart') + '-data');
      if (!src) { continue; }
      try {
        var option = JSON.parse(src.textContent);
        var chart = echarts.init(el, null, { renderer: 'svg' });
        chart.setOption(option);
        el.setAttribute('data-ready', '1');
        charts.push(chart);
      } catch (e) { el.textContent = el.getAttribute('data-fallback') || ''; }
    }
    window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
    window.addEventListener('beforeprint', function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', draw); } else { draw(); }
})();
