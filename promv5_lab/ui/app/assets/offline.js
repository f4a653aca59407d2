// promv5-lab works air-gapped: Bokeh's TablerIcon view imports its stylesheet (and, through it, a web font)
// from cdn.jsdelivr.net. Before any view is built, point it at the app's own offline icons instead.
(function () {
  try {
    var model = window.Bokeh && window.Bokeh.Models && window.Bokeh.Models.get("TablerIcon");
    var view = model && model.prototype.default_view;
    if (view) {
      view._url = new URL("/promv5-assets/tabler", window.location.href).href;
    }
  } catch (e) {
    console.warn("promv5-lab: could not redirect the Tabler icons to local assets", e);
  }
})();
