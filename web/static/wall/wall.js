// The wall of rooms refreshes itself: every few seconds it asks the console for every room's
// health and rewrites the rows (text only: nothing from a recorder is read as HTML).
// A supervisor's wall also shows each recording room's live picture: loaded off-screen and
// swapped in only once decoded (no flicker), its cell kept across the rows' rewrites, and
// nothing asked while the tab is hidden. A room with no picture shows why, in words.
(function () {
  "use strict";
  const table = document.getElementById("wall");
  if (!table) return;
  const body = table.tBodies[0];
  const labels = table.dataset;
  const readsEvidence = labels.readsEvidence === "yes";
  const stale = document.getElementById("wall-stale");
  const attention = document.getElementById("wall-attention");
  const seesPictures = labels.seesPictures === "yes";
  const pictures = new Map();  // room code -> its picture cell, kept across rewrites
  const liveStates = ["recording", "paused"];
  body.querySelectorAll("td.picture").forEach(function (td) {
    pictures.set(td.parentElement.dataset.room, td);
  });

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

  // Whole seconds as H:MM:SS (the server's own format for a duration).
  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return Math.floor(s / 3600) + ":" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  // A recording room's elapsed time ticks between refreshes, from the server's figure.
  let refreshedAt = performance.now();
  function tick() {
    const since = (performance.now() - refreshedAt) / 1000;
    body.querySelectorAll("span.elapsed[data-seconds]").forEach(function (span) {
      span.textContent = clock(Number(span.dataset.seconds) + since);
    });
  }

  function devices(td, list) {
    if (!list.length) { td.textContent = "—"; return; }
    for (const device of list) {
      const badge = document.createElement("span");
      badge.className = "badge " + (device.up ? "ok" : "bad");
      let text = device.name + ": " + (device.up ? labels.labelUp : labels.labelLost);
      badge.textContent = text;
      if (device.audio_level_dbfs !== null) {  // a bar, and the figure beside it
        const meter = document.createElement("meter");
        Object.assign(meter, { min: -60, max: 0, low: -45, high: -6, optimum: -20, value: device.audio_level_dbfs });
        meter.className = "level";
        meter.title = labels.labelLevel;
        badge.append(" ", meter, " " + Math.round(device.audio_level_dbfs) + " dBFS");
      }
      td.append(badge, " ");
    }
  }

  function render(rooms) {
    body.replaceChildren();
    for (const room of rooms) {
      const row = body.insertRow();
      row.dataset.room = room.code;
      if (room.needs_attention) row.className = "attention";
      if (seesPictures) pictureCell(row, room);
      cell(row, room.name + " ").append(Object.assign(document.createElement("code"), { textContent: room.code }));
      cell(row, room.unit);
      cell(row, stateLabel(room.state), "state");
      if (readsEvidence) cell(row, room.case_number || "—", "case");
      const since = cell(row, room.started_at_shown, "since");
      if (room.elapsed_shown) {
        const elapsed = Object.assign(document.createElement("span"), { className: "elapsed", textContent: room.elapsed_shown });
        elapsed.dataset.seconds = room.elapsed_seconds;
        since.append(document.createElement("br"), elapsed);
      }
      cell(row, room.last_seal_shown, "seal");
      const backlog = cell(row, room.backlog_shown, room.no_upload_destination ? "backlog no-upload" : "backlog");
      if (room.backlog_title) backlog.title = room.backlog_title;
      cell(row, room.disk_shown, "disk");
      devices(cell(row, "", "devices"), room.devices);
      const why = cell(row, "", "alarm");
      room.attention.forEach(function (reason, i) {
        if (i) why.append(document.createElement("br"));
        why.append(Object.assign(document.createElement("span"), { className: "reason", textContent: reason }));
      });
    }
    refreshedAt = performance.now();
    attention.textContent = rooms.filter((room) => room.needs_attention).length;
  }

  function pictureCell(row, room) {
    let td = pictures.get(room.code);
    if (!td) {
      td = document.createElement("td");
      td.className = "picture";
      td.dataset.preview = labels.previewUrl.replace("__room__", encodeURIComponent(room.code));
      const img = Object.assign(document.createElement("img"), { className: "thumb", alt: labels.labelPicture + " " + room.name, hidden: true });
      td.append(img, Object.assign(document.createElement("span"), { className: "no-picture" }));
      pictures.set(room.code, td);
    }
    row.appendChild(td);  // moved, not copied: the picture shown stays
    td.dataset.state = room.state;
    if (liveStates.indexOf(room.state) < 0) {
      noPicture(td, room.state === "unreachable" ? labels.noPictureUnreachable : labels.noPictureIdle);
    }
  }

  function noPicture(td, reason) {
    const img = td.querySelector("img.thumb");
    const placeholder = td.querySelector(".no-picture");
    placeholder.textContent = reason;
    placeholder.hidden = false;
    img.hidden = true;
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.removeAttribute("src");
  }

  async function loadPicture(td) {
    if (td.dataset.loading === "yes") return;  // one picture at a time per room
    td.dataset.loading = "yes";
    try {
      const answer = await fetch(td.dataset.preview, { credentials: "same-origin", cache: "no-store" });
      if (!answer.ok) { noPicture(td, await answer.text()); return; }
      const url = URL.createObjectURL(await answer.blob());
      const next = new Image();
      next.src = url;
      await next.decode();  // only a whole picture is ever shown
      if (liveStates.indexOf(td.dataset.state) < 0) { URL.revokeObjectURL(url); return; }
      const img = td.querySelector("img.thumb");
      const previous = img.src;
      img.src = url;
      img.hidden = false;
      td.querySelector(".no-picture").hidden = true;
      if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
    } catch (problem) {
      /* the next round tries again; what is shown stays */
    } finally {
      td.dataset.loading = "no";
    }
  }

  function refreshPictures() {
    if (document.visibilityState !== "visible") return;  // nobody is looking
    pictures.forEach(function (td) {
      if (liveStates.indexOf(td.dataset.state) >= 0 && td.isConnected) loadPicture(td);
    });
  }

  async function refresh() {
    if (document.visibilityState !== "visible") return;
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
  setInterval(tick, 1000);
  if (seesPictures) {
    refresh().then(refreshPictures);  // the rows' states first, then their pictures
    setInterval(refreshPictures, 1000 * Number(labels.pictureSeconds || 3));
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") refresh().then(refreshPictures);
    });
  }
})();
