// Keeps the room terminal in step with the recorder: state, elapsed time, level, preview,
// device health, and only the controls that fit the state. Stop asks for a confirmation.
// The preview is loaded off-screen and swapped in once decoded, so it never flickers; while
// the room is idle a placeholder stands in for it (never a broken image).
(function () {
  "use strict";
  const root = document.getElementById("terminal");
  const rec = document.getElementById("rec");
  const labels = root.dataset;
  const preview = document.getElementById("preview");
  const idlePicture = document.getElementById("preview-idle");
  let loadingPicture = false;

  function clock(seconds) {
    const s = Math.floor(seconds);
    return Math.floor(s / 3600) + ":" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  function showControls(state) {
    document.querySelectorAll("#controls [data-states]").forEach(function (control) {
      control.hidden = control.dataset.states.split(" ").indexOf(state) < 0;
    });
    if (state !== "recording" && state !== "paused") hideConfirmation();
  }

  function showPicture(live) {
    if (!live) {
      preview.hidden = true;
      idlePicture.hidden = false;
      return;
    }
    if (loadingPicture) return;  // one frame at a time: never a half-loaded picture
    loadingPicture = true;
    const next = new Image();
    next.src = root.dataset.preview + "?t=" + Date.now();
    next.decode().then(function () {
      preview.src = next.src;
      preview.hidden = false;
      idlePicture.hidden = true;
    }).catch(function () { /* no frame yet: keep what is shown */ })
      .finally(function () { loadingPicture = false; });
  }

  // Each device's line comes worded and formatted from the server (the console's language).
  function showDevices(devices) {
    const list = document.getElementById("devices");
    if (!devices || !devices.length) return;
    list.replaceChildren();
    devices.forEach(function (device) {
      const item = document.createElement("li");
      item.className = device.lost ? "lost" : "working";
      item.dataset.device = device.name;
      item.textContent = device.text;
      list.appendChild(item);
    });
  }

  function unreachable(why) {
    const shown = document.getElementById("unreachable");
    if (why) shown.textContent = why;
    shown.hidden = false;
    document.getElementById("paused-reason").hidden = true;
    rec.className = "rec off"; rec.textContent = labels.labelIdle; rec.dataset.state = "unreachable";
    showControls("unreachable");
    showPicture(false);
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.status, { credentials: "same-origin" });
      const status = await response.json();
      if (status.reachable === false) { unreachable(status.error); return; }
      document.getElementById("unreachable").hidden = true;
      const state = status.state || "idle";
      rec.dataset.state = state;
      rec.textContent = { recording: labels.labelRecording, paused: labels.labelPaused }[state] || labels.labelIdle;
      rec.className = "rec " + (state === "recording" ? "" : state === "paused" ? "paused" : "off");
      showControls(state);
      document.getElementById("elapsed").textContent = clock(status.media_seconds || 0);
      document.getElementById("segments").textContent = status.segments_sealed ?? 0;
      if (status.backlog_objects !== undefined && status.backlog_objects !== null) {
        document.getElementById("backlog").textContent = status.backlog_objects;
      }
      // No upload destination at all: said in words, not as a backlog that only grows.
      document.getElementById("backlog-figure").hidden = status.upload_configured === false;
      document.getElementById("no-upload").hidden = status.upload_configured !== false;
      document.getElementById("paused-reason").hidden = state !== "paused";
      document.getElementById("pause-reason-text").textContent = status.pause_reason || "—";
      document.getElementById("level-text").textContent = status.audio_shown || "—";
      const level = status.audio_dbfs;
      if (typeof level === "number") {
        document.getElementById("meter").style.width = Math.max(0, Math.min(100, (level + 60) / 60 * 100)) + "%";
      }
      showDevices(status.devices_shown);
      showPicture(state === "recording" || state === "paused");
    } catch (error) {
      unreachable();
    }
  }

  // Stop: the first press asks, the confirmation sends.
  const stopForm = document.getElementById("stop-form");
  const confirmation = document.getElementById("stop-confirmation");
  function hideConfirmation() { if (confirmation) confirmation.hidden = true; }
  if (stopForm && confirmation) {
    stopForm.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.id === "stop-confirm") return;
      event.preventDefault();
      confirmation.hidden = false;
      document.getElementById("stop-confirm").focus();
    });
    document.getElementById("stop-cancel").addEventListener("click", hideConfirmation);
  }

  poll();
  setInterval(poll, 1000);
})();
