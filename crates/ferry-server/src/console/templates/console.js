// Ferry's console: the only script. A build's log grows while the build runs (server-sent
// events carry each new piece as a JSON string); when the build ends the page reloads to
// show its final state. Text is added as text, never as HTML.
(function () {
  var log = document.getElementById("log");
  if (!log || !log.dataset.live || !window.EventSource) return;
  var source = new EventSource(log.dataset.live);
  source.onmessage = function (e) {
    log.textContent += JSON.parse(e.data);
  };
  source.addEventListener("end", function () {
    source.close();
    window.location.reload();
  });
})();
// A pipeline's graph follows its state: the statuses of stages and actions are refreshed from
// `data-state` every second; when an approval appears or goes, or a stage fails, the page
// reloads to show the buttons that now apply.
(function () {
  var graph = document.getElementById("graph");
  if (!graph || !graph.dataset.state || !window.fetch) return;
  function badge(el, status) {
    if (!el) return;
    el.textContent = status || "";
    el.className = "badge " + (status || "").toLowerCase();
  }
  function shape(stages) {
    return stages.map(function (s) {
      return s.name + (s.status === "Failed" ? "!" : "") +
        s.actions.map(function (a) { return a.approval ? "?" : ""; }).join("");
    }).join("|");
  }
  // The shape the page was drawn with: which stages had failed, which approvals waited.
  function drawnShape() {
    var out = [];
    graph.querySelectorAll("[data-stage]").forEach(function (section) {
      var status = section.querySelector("[data-stage-status]");
      var waiting = section.querySelectorAll("form.approval").length;
      out.push(section.dataset.stage + (status && status.textContent === "Failed" ? "!" : "") +
        new Array(waiting + 1).join("?"));
    });
    return out.join("|");
  }
  var shown = drawnShape();
  function poll() {
    fetch(graph.dataset.state, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (stages) {
      if (!stages) return;
      if (shape(stages) !== shown) { window.location.reload(); return; }
      stages.forEach(function (s) {
        var section = graph.querySelector('[data-stage="' + CSS.escape(s.name) + '"]');
        if (!section) return;
        badge(section.querySelector("[data-stage-status]"), s.status);
        s.actions.forEach(function (a) {
          var box = section.querySelector('[data-action="' + CSS.escape(s.name + "/" + a.name) + '"]');
          if (box) badge(box.querySelector("[data-action-status]"), a.status || "Didn't run");
        });
      });
    }).catch(function () {}).then(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
})();
