// The wall of rooms refreshes itself: every few seconds it asks the console for every room's
// health and rewrites the rows (text only: nothing from a recorder is read as HTML).
(function () {
  "use strict";
  const table = document.getElementById("wall");
  if (!table) return;
  const body = table.tBodies[0];
  const labels = table.dataset;
  const readsEvidence = labels.readsEvidence === "yes";
  const stale = document.getElementById("wall-stale");
  const attention = document.getElementById("wall-attention");

  function stateLabel(state) {
    const key = "label" + state.charAt(0).toUpperCase() + state.slice(1);
    return labels[key] || state;
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function localTime(iso) {
    if (!iso) return "—";
    const when = new Date(iso);
    return isNaN(when) ? iso : when.toLocaleString();
  }

  function devices(td, list) {
    if (!list.length) { td.textContent = "—"; return; }
    for (const device of list) {
      const badge = document.createElement("span");
      badge.className = "badge " + (device.up ? "ok" : "bad");
      let text = device.name + ": " + (device.up ? labels.labelUp : labels.labelLost);
      if (device.audio_level_dbfs !== null) text += " " + Math.round(device.audio_level_dbfs) + " dBFS";
      badge.textContent = text;
      td.append(badge, " ");
    }
  }

  function render(rooms) {
    body.replaceChildren();
    for (const room of rooms) {
      const row = body.insertRow();
      row.dataset.room = room.code;
      if (room.needs_attention) row.className = "attention";
      cell(row, room.name + " ").append(Object.assign(document.createElement("code"), { textContent: room.code }));
      cell(row, room.unit);
      cell(row, stateLabel(room.state), "state");
      if (readsEvidence) cell(row, room.case_number || "—", "case");
      cell(row, localTime(room.started_at), "since");
      cell(row, room.last_seal_age_seconds === null ? "—" : Math.round(room.last_seal_age_seconds) + " s", "seal");
      cell(row, room.backlog_objects === null ? "—"
        : room.backlog_objects + " (" + ((room.backlog_bytes || 0) / 1e6).toFixed(1) + " MB)", "backlog");
      cell(row, room.disk_free_share === null ? "—" : Math.round(room.disk_free_share * 100) + " %", "disk");
      devices(cell(row, "", "devices"), room.devices);
      cell(row, room.alarm || room.problem || "", "alarm");
    }
    attention.textContent = rooms.filter((room) => room.needs_attention).length;
  }

  async function refresh() {
    try {
      const answer = await fetch(labels.healthUrl, { credentials: "same-origin", cache: "no-store" });
      if (!answer.ok) throw new Error(String(answer.status));
      render((await answer.json()).rooms);
      stale.hidden = true;
    } catch (problem) {
      stale.textContent = labels.labelStale;
      stale.hidden = false;
    }
  }

  setInterval(refresh, 1000 * Number(labels.refreshSeconds || 5));
})();
