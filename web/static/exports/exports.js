// Export requests: one of session or clip, a confirmation before a decision, and the progress
// of the packages being built (polled from the server; the page reloads when one ends).
(function () {
  "use strict";
  var POLL_MS = 1000;
  var RETRY_MS = 5000;
  var session = document.getElementById("export-session");
  var clip = document.getElementById("export-clip");
  if (session && clip) {
    // Naming a clip exports only its segments; naming both would be ambiguous.
    session.addEventListener("input", function () { if (session.value) { clip.value = ""; } });
    clip.addEventListener("input", function () { if (clip.value) { session.value = ""; } });
  }
  document.querySelectorAll("form.decide button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) { event.preventDefault(); }
    });
  });

  function megabytes(count) {
    return (count / 1048576).toFixed(count < 10485760 ? 1 : 0);
  }

  // Copying has a known size: a real bar. Verifying and zipping report nothing: a moving one.
  function show(bar, state) {
    var cell = bar.closest("td");
    var label = cell.querySelector(".export-stage");
    var figures = cell.querySelector(".export-figures");
    if (state.stage === "copying" && state.total > 0) {
      bar.max = state.total;
      bar.value = state.done;
      label.textContent = bar.dataset.copying;
      figures.textContent = megabytes(state.done) + " / " + megabytes(state.total) + " MB · " +
        Math.floor((100 * state.done) / state.total) + "%";
      bar.dataset.stage = "copying";
      return;
    }
    bar.removeAttribute("value");
    label.textContent = state.stage === "checking" ? bar.dataset.checking : bar.dataset.queued;
    figures.textContent = state.stage === "checking" && state.total > 0 ? megabytes(state.total) + " MB" : "";
    bar.dataset.stage = state.stage || "";
  }

  function poll(bar) {
    fetch(bar.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (state) {
        if (state.status !== "building") { window.location.reload(); return; }
        show(bar, state);
        window.setTimeout(poll, POLL_MS, bar);
      })
      .catch(function () { window.setTimeout(poll, RETRY_MS, bar); });
  }

  document.querySelectorAll("progress.export-progress[data-url]").forEach(poll);
})();
