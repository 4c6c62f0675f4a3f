// The review page keeps your place: bookmarks and "verify now" are sent in the background
// (fetch, with the page's CSRF token), so the player never returns to 0:00 and the page
// never jumps. A bookmark's moment is the player's time when "Mark" was clicked, or when
// the note was first typed; it is shown on the marker timeline, and a click on a marker or
// a bookmark seeks there. Speed 0.5-2x, frame step, and keyboard shortcuts.
//
// It drives whichever player the page has: the single <video> (player.js) or the
// multi-track player (window.sealroomPlayer, from tracks.js) through the same few calls.
//
// The page has one seek bar (#seekbar), and the marks (bookmarks, refused parts) are drawn
// inside it: a mark at a fraction of the bar is exactly where a click at that fraction seeks.
(function () {
  "use strict";
  const controls = document.getElementById("player-controls");
  if (!controls) return;
  const fps = Number(controls.dataset.fps) || 25;
  const markers = document.getElementById("markers");
  const duration = Number(markers && markers.dataset.duration) || 0;
  const seekbar = document.getElementById("seekbar");

  function media() {
    const tracks = window.sealroomPlayer;
    if (tracks) {
      return {
        time: function () { return tracks.now(); },
        seek: function (t) { tracks.seekTo(t); },
        playing: function () { return tracks.playing === true; },
        play: function () { tracks.play(); },
        pause: function () { tracks.pause(); },
        rate: null,  // the tracks keep their own clock at 1x
      };
    }
    const video = document.getElementById("player");
    return {
      time: function () { return video ? video.currentTime : 0; },
      seek: function (t) { if (video) video.currentTime = t; },
      playing: function () { return video && !video.paused; },
      play: function () { if (video) video.play(); },
      pause: function () { if (video) video.pause(); },
      rate: function (r) { if (video) video.playbackRate = r; },
    };
  }

  // hh:mm:ss.mmm on the session's clock: the one time-code scheme of clips, the presenter and
  // the offline player (tracks.js's timecode, written here too for the one-camera player).
  function clock(seconds) {
    if (window.SealroomTracks) return window.SealroomTracks.timecode(seconds);
    const ms = Math.max(0, Math.round(seconds * 1000));
    const whole = Math.floor(ms / 1000);
    const pad = function (n, width) { return String(n).padStart(width, "0"); };
    return pad(Math.floor(whole / 3600), 2) + ":" + pad(Math.floor(whole / 60) % 60, 2) + ":" +
      pad(whole % 60, 2) + "." + pad(ms % 1000, 3);
  }

  // -- position, the seek bar, play, sound, full screen ---------------------------------------
  const position = document.getElementById("position");
  const played = document.getElementById("seek-played");
  const head = document.getElementById("seek-head");
  const playButton = document.getElementById("play-pause");
  function showPosition() {
    const player = media();
    const now = player.time();
    if (position) position.textContent = clock(now);
    if (seekbar && duration) {
      const at = Math.min(100, Math.max(0, (now / duration) * 100)) + "%";
      played.style.width = at;
      head.style.left = at;
      seekbar.setAttribute("aria-valuenow", now.toFixed(3));
      seekbar.setAttribute("aria-valuetext", clock(now));
    }
    if (playButton) {
      playButton.textContent = player.playing() ? controls.dataset.pause : controls.dataset.play;
    }
  }
  setInterval(showPosition, 200);

  // The time at a point of the seek bar: its fraction of the bar's width.
  function timeAt(clientX) {
    const box = seekbar.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - box.left) / box.width)) * duration;
  }
  if (seekbar && duration) {
    let dragging = false;
    seekbar.addEventListener("pointerdown", function (event) {
      if (event.target.classList.contains("marker")) return;  // the mark seeks to its moment
      dragging = true;
      seekbar.setPointerCapture(event.pointerId);
      media().seek(timeAt(event.clientX));
      showPosition();
    });
    seekbar.addEventListener("pointermove", function (event) {
      if (dragging) { media().seek(timeAt(event.clientX)); showPosition(); }
    });
    seekbar.addEventListener("pointerup", function () { dragging = false; });
    seekbar.addEventListener("pointercancel", function () { dragging = false; });
    seekbar.addEventListener("keydown", function (event) {
      const step = { ArrowLeft: -1, ArrowRight: 1, PageDown: -10, PageUp: 10 }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      event.stopPropagation();
      const player = media();
      player.seek(Math.min(duration, Math.max(0, player.time() + step)));
      showPosition();
    });
  }
  function togglePlay() {
    const player = media();
    if (player.playing()) { player.pause(); } else { player.play(); }
  }
  if (playButton) playButton.addEventListener("click", function () { togglePlay(); showPosition(); });
  const video = document.getElementById("player");
  const mute = document.getElementById("mute");
  if (mute && video) {
    mute.addEventListener("click", function () {
      video.muted = !video.muted;
      mute.setAttribute("aria-pressed", String(video.muted));
    });
  }
  const fullscreen = document.getElementById("fullscreen");
  if (fullscreen && video) {
    fullscreen.addEventListener("click", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else { video.requestFullscreen(); }
    });
  }

  // -- speed, frame step ------------------------------------------------------------------------

  const speed = document.getElementById("speed");
  const speeds = Array.from(speed ? speed.options : []).map(function (o) { return Number(o.value); });
  function setSpeed(value) {
    const player = media();
    if (!speed || !player.rate) return;
    speed.value = String(value);
    player.rate(value);
  }
  if (speed) {
    if (!media().rate && window.sealroomPlayer) speed.disabled = true;
    speed.addEventListener("change", function () { setSpeed(Number(speed.value)); });
  }
  function stepSpeed(direction) {
    if (!speed) return;
    const at = speeds.indexOf(Number(speed.value));
    const next = speeds[Math.min(speeds.length - 1, Math.max(0, at + direction))];
    setSpeed(next);
  }
  function stepFrame(direction) {
    const player = media();
    player.pause();
    player.seek(Math.max(0, player.time() + direction / fps));
  }
  document.getElementById("frame-back").addEventListener("click", function () { stepFrame(-1); });
  document.getElementById("frame-forward").addEventListener("click", function () { stepFrame(1); });

  // -- bookmarks ------------------------------------------------------------------------------
  const form = document.getElementById("bookmark-form");
  const list = document.getElementById("bookmark-list");
  const offset = document.getElementById("bookmark-offset");
  const at = document.getElementById("bookmark-at");
  const note = document.getElementById("bookmark-note");
  const error = document.getElementById("bookmark-error");
  let marked = false;  // the moment is taken once per bookmark, at the first click or key

  function mark() {
    const seconds = media().time();
    offset.value = String(Math.round(seconds * 1000));
    at.textContent = clock(seconds);
    marked = true;
  }
  function seekLink(link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      media().seek(parseFloat(link.dataset.seconds));
    });
  }
  function addMarker(seconds, text) {
    if (!markers || !duration) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "marker";
    button.style.left = Math.min(100, (seconds / duration) * 100) + "%";
    button.title = clock(seconds) + " " + text;
    button.dataset.seconds = String(seconds);
    button.addEventListener("click", function () { media().seek(seconds); showPosition(); });
    markers.appendChild(button);
  }
  function deleteInBackground(deleteForm) {
    deleteForm.addEventListener("submit", function (event) {
      event.preventDefault();
      send(deleteForm).then(function (answer) {
        if (!answer.ok) return;
        const item = deleteForm.closest("li");
        const seconds = item.querySelector("a.seek").dataset.seconds;
        item.remove();
        markers.querySelectorAll(".marker").forEach(function (m) {
          if (m.dataset.seconds === seconds) m.remove();
        });
        document.getElementById("no-bookmarks").hidden = list.children.length > 0;
      });
    });
  }
  function send(sending) {
    return fetch(sending.action, {
      method: "POST",
      body: new FormData(sending),
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
    }).then(function (response) {
      return response.json().then(
        function (body) { return { ok: response.ok, body: body }; },
        function () { return { ok: false, body: { error: response.status + " " + response.statusText } }; }
      );
    });
  }

  list.querySelectorAll("a.seek").forEach(function (link) {
    seekLink(link);
    addMarker(parseFloat(link.dataset.seconds), link.dataset.note || "");
  });
  list.querySelectorAll("form.bookmark-delete").forEach(deleteInBackground);
  document.getElementById("bookmark-mark").addEventListener("click", function () {
    mark();
    note.focus();
  });
  note.addEventListener("keydown", function () { if (!marked) mark(); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!marked) mark();
    error.hidden = true;
    send(form).then(function (answer) {
      if (!answer.ok) {
        error.textContent = answer.body.message || answer.body.error || "";
        error.hidden = false;
        return;
      }
      const b = answer.body;
      const item = document.createElement("li");
      item.dataset.id = String(b.id);
      const link = document.createElement("a");
      link.href = "#";
      link.className = "seek";
      link.dataset.seconds = String(b.seconds);
      const code = document.createElement("span");
      code.className = "timecode";
      code.textContent = b.time;
      link.append(code);
      seekLink(link);
      item.append(link);
      if (b.wall) {
        const wall = document.createElement("small");
        wall.className = "wall";
        wall.textContent = "(" + b.wall + ")";
        item.append(" ", wall);
      }
      item.append(" " + b.note + " ");
      if (!b.shared) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = form.dataset.onlyMe;
        item.append(badge, " ");
      }
      const remove = document.createElement("form");
      remove.method = "post";
      remove.action = b.delete_url;
      remove.className = "inline bookmark-delete";
      const token = form.querySelector("input[name=csrf_token]").cloneNode();
      const button = document.createElement("button");
      button.type = "submit";
      button.className = "link";
      button.textContent = form.dataset.remove;
      remove.append(token, button);
      deleteInBackground(remove);
      item.append(remove);
      const later = Array.from(list.children).find(function (li) {
        return parseFloat(li.querySelector("a.seek").dataset.seconds) > b.seconds;
      });
      list.insertBefore(item, later || null);
      addMarker(b.seconds, b.note);
      document.getElementById("no-bookmarks").hidden = true;
      note.value = "";
      marked = false;
    });
  });

  // -- verify now, in the background, with its progress --------------------------------------
  // The console streams newline-delimited JSON: {done, total} as the session's bytes are
  // hashed, then the answer (verdict, reason, the "last verification" line rendered by the
  // console). The bar shows the bytes hashed; the page never reloads.
  const verifyForm = document.getElementById("verify-form");
  const progress = document.getElementById("verify-progress");
  const percent = document.getElementById("verify-percent");
  const live = document.getElementById("verify-live");
  const integrity = document.getElementById("verification");

  // The "last verification" line becomes the console's: its verdict, time (the console's
  // time zone and format), what found it and who.
  function replaceLastVerification(html) {
    const last = document.getElementById("last-verification");
    if (!last || !html) return;
    const fresh = new DOMParser().parseFromString(html, "text/html")
      .getElementById("last-verification");
    if (fresh) last.replaceWith(fresh);
  }
  function showProgress(done, total) {
    if (!(total > 0)) return;  // nothing to measure: the bar stays indeterminate
    progress.max = total;
    progress.value = Math.min(done, total);
    const share = Math.floor((Math.min(done, total) / total) * 100);
    percent.textContent = verifyForm.dataset.progress.replace("{percent}", String(share));
    percent.hidden = false;
  }
  function showAnswer(ok, b) {
    live.className = ok && b.intact ? "ok" : "bad";
    live.textContent = ok ? b.label + " — " + b.text : (b.message || b.error || "");
    live.hidden = false;
    const shown = document.getElementById("shown-state");
    if (ok && shown) {
      shown.textContent = b.shown_state;
      shown.className = b.intact ? "" : "bad";
    }
    if (ok) replaceLastVerification(b.last_verification);
  }
  // Each complete line as it arrives; the last one is the answer.
  async function readLines(response, onLine) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const chunk = await reader.read();
      pending += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
      const lines = pending.split("\n");
      pending = lines.pop();
      lines.filter(function (l) { return l.trim(); }).forEach(function (l) { onLine(JSON.parse(l)); });
      if (chunk.done) return;
    }
  }
  verifyForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    const button = document.getElementById("verify-now");
    button.disabled = true;
    progress.removeAttribute("value");  // indeterminate until the first count arrives
    progress.hidden = false;
    percent.hidden = true;
    live.hidden = true;
    let answer = null;
    try {
      const response = await fetch(verifyForm.action, {
        method: "POST",
        body: new FormData(verifyForm),
        credentials: "same-origin",
        headers: { "Accept": "application/x-ndjson" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/x-ndjson") !== 0) {
        const body = await response.json().catch(function () {
          return { error: response.status + " " + response.statusText };
        });
        showAnswer(false, body);
        return;
      }
      await readLines(response, function (line) {
        if ("done" in line) { showProgress(line.done, line.total); } else { answer = line; }
      });
    } catch (failure) {
      answer = null;
    } finally {
      button.disabled = false;
      progress.hidden = true;
      percent.hidden = true;
    }
    if (answer) {
      showAnswer(true, answer);
    } else if (live.hidden) {
      showAnswer(false, { message: verifyForm.dataset.unfinished });
    }
  });

  // A segment the player was refused is a verification's finding: the line says so at once.
  // One question at a time; a refusal while it is asked asks once more after it.
  let asking = false;
  let again = false;
  function askLastVerification() {
    if (asking) { again = true; return; }
    asking = true;
    again = false;
    fetch(integrity.dataset.lastVerification, {
      credentials: "same-origin", headers: { "Accept": "application/json" },
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (b) {
      if (b) replaceLastVerification(b.last_verification);
    }).catch(function () {}).finally(function () {
      asking = false;
      if (again) askLastVerification();
    });
  }
  document.addEventListener("sealroom:refused", function () {
    if (integrity && integrity.dataset.lastVerification) askLastVerification();
  });

  // -- keyboard -------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
        target.tagName === "SELECT" || target.isContentEditable)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === " " && target && target.tagName === "BUTTON") return;  // its own click
    switch (event.key) {
      case " ": event.preventDefault(); togglePlay(); break;
      case ",": stepFrame(-1); break;
      case ".": stepFrame(1); break;
      case "[": stepSpeed(-1); break;
      case "]": stepSpeed(1); break;
      case "b": case "B": event.preventDefault(); mark(); note.focus(); break;
      default: return;
    }
  });
})();
