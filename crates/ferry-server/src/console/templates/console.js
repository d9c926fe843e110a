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
