// Print: the console records the print in the custody log, and only then does the page
// print (one press, one event). If it cannot be recorded, nothing is printed.
(function () {
  "use strict";
  const form = document.getElementById("print-form");
  if (!form) return;
  const failed = document.getElementById("print-failed");
  let sending = false;
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (sending) return;  // a double press is one print
    sending = true;
    failed.hidden = true;
    try {
      const answer = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!answer.ok) throw new Error(String(answer.status));
      window.print();
    } catch (problem) {
      failed.hidden = false;
    } finally {
      sending = false;
    }
  });
})();
