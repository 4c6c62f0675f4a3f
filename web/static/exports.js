// Export requests: one of session or clip, and a confirmation before a supervisor decides.
(function () {
  "use strict";
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
})();
