// Keeps the room terminal in step with the recorder: state, elapsed time, level, preview.
(function () {
  "use strict";
  const root = document.getElementById("terminal");
  const rec = document.getElementById("rec");
  const labels = { recording: root.dataset.labelRecording, paused: root.dataset.labelPaused,
                   idle: root.dataset.labelIdle };
  function clock(seconds) {
    const s = Math.floor(seconds);
    return Math.floor(s / 3600) + ":" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }
  async function poll() {
    try {
      const response = await fetch(root.dataset.status, { credentials: "same-origin" });
      const status = await response.json();
      document.getElementById("unreachable").hidden = status.reachable !== false;
      if (status.reachable === false) {
        rec.className = "rec off"; rec.textContent = labels.idle; rec.dataset.state = "unreachable";
        return;
      }
      const state = status.state || "idle";
      rec.dataset.state = state;
      rec.textContent = labels[state] || state.toUpperCase();
      rec.className = "rec " + (state === "recording" ? "" : state === "paused" ? "paused" : "off");
      document.getElementById("elapsed").textContent = clock(status.media_seconds || 0);
      document.getElementById("segments").textContent = status.segments_sealed ?? 0;
      if (status.backlog_objects !== undefined && status.backlog_objects !== null) {
        document.getElementById("backlog").textContent = status.backlog_objects;
      }
      const level = status.audio_dbfs;
      if (typeof level === "number") {
        document.getElementById("level-text").textContent = level.toFixed(1) + " dBFS";
        document.getElementById("meter").style.width = Math.max(0, Math.min(100, (level + 60) / 60 * 100)) + "%";
      }
      if (state === "recording" || state === "paused") {
        document.getElementById("preview").src = root.dataset.preview + "?t=" + Date.now();
      }
    } catch (error) {
      document.getElementById("unreachable").hidden = false;
      rec.className = "rec off"; rec.textContent = labels.idle;
    }
  }
  poll();
  setInterval(poll, 1000);
})();
