// The presenter screen (the court clerk's laptop), and the buttons that mark a clip's start
// and end from a player's current position (the session page and the new-clip page).
//
// The presenter sends each command to the console, which stores the new presentation state
// and streams it to the audience screen. The preview here (muted, SealroomScreen from
// audience.js) follows the same stream, so a second presenter's commands show here too and
// play/pause send the position the court screen is really at; it also takes each command's
// answer at once (an older version arriving later is ignored).
(function () {
  "use strict";

  // hh:mm:ss.mmm on the session's clock, as everywhere a clip is shown (tracks.js).
  // (Written here too: the new-clip page marks times without loading tracks.js.)
  function timecode(seconds) {
    const millis = Math.max(0, Math.round(seconds * 1000));
    const s = Math.floor(millis / 1000);
    const pad = function (n, width) { return String(n).padStart(width, "0"); };
    return pad(Math.floor(s / 3600), 2) + ":" + pad(Math.floor(s / 60) % 60, 2) + ":" +
      pad(s % 60, 2) + "." + pad(millis % 1000, 3);
  }

  // "Start = current position" / "End = current position"
  document.querySelectorAll("button[data-mark]").forEach(function (button) {
    button.addEventListener("click", function () {
      const video = document.getElementById(button.dataset.player || "player");
      const field = document.getElementById(button.dataset.mark);
      if (video && field) field.value = timecode(video.currentTime);
    });
  });

  const configElement = document.getElementById("presenter-config");
  if (!configElement) return;
  const config = JSON.parse(configElement.textContent);
  const text = config.text;
  const $ = function (id) { return document.getElementById(id); };
  const stage = $("preview");
  const seek = $("seek");
  let dragging = false;  // the presenter is moving the seek slider: do not move it under them
  let verifiedKey = null;  // the showing the verification panel speaks about

  const screen = window.SealroomScreen.create(
    { root: stage, video: $("preview-video"), diagram: $("preview-diagram"), notice: $("preview-notice") },
    { muted: true, ignoreZoom: true, onChange: showState }
  );

  function showState(state) {
    const exhibit = state.exhibit;
    document.body.dataset.presenting = exhibit ? exhibit.kind : "none";
    let status;
    if (state.blank) status = text.blanked;
    else if (!exhibit) status = text.nothing;
    else if (exhibit.kind === "unverified") status = exhibit.notice;
    else status = text.showing + " " + exhibit.number + (exhibit.title ? " · " + exhibit.title : "");
    $("status").textContent = status;
    $("status").classList.toggle("blanked", !!state.blank);
    $("blank").hidden = !!state.blank;
    $("unblank").hidden = !state.blank;
    document.querySelectorAll("[data-exhibit]").forEach(function (item) {
      item.classList.toggle("current", !!exhibit && String(exhibit.id) === item.dataset.exhibit);
    });
    // A result about another showing (or one since refused) must not stay up beside it.
    if (!exhibit || exhibit.key !== verifiedKey) $("verification").hidden = true;
    const clip = exhibit && exhibit.kind === "clip" ? exhibit.clip : null;
    if (clip) seek.max = String(clip.out - clip.in);
    drawZoomBox(state);
  }

  function showVerification(outcome) {
    const panel = $("verification");
    panel.replaceChildren();
    panel.hidden = false;
    const heading = document.createElement("p");
    heading.id = "verification-result";
    heading.className = outcome.intact ? "ok" : "bad";
    heading.textContent = outcome.intact ? text.intact : text.not_verified;
    panel.appendChild(heading);
    const facts = document.createElement("dl");
    facts.className = "facts";
    function fact(label, value) {
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = value;
      facts.append(dt, dd);
    }
    if (outcome.intact) {
      fact(text.signer, outcome.signer);
      const span = outcome.first_segment === outcome.last_segment
        ? outcome.first_segment : outcome.first_segment + " … " + outcome.last_segment;
      fact(text.segments, outcome.segments + " (" + span + ")");
      fact(text.seal, outcome.head);
    } else {
      const where = outcome.location ? outcome.location + ": " : "";
      fact(text.failure, String(outcome.result || "").toUpperCase() + " — " + where + outcome.reason);
    }
    panel.appendChild(facts);
  }

  function showError(message) {
    const box = $("command-error");
    box.textContent = message ? text.error + " " + message : "";
    box.hidden = !message;
  }

  async function send(action, body) {
    showError("");
    let response;
    let data;
    try {
      response = await fetch(config.command.replace("ACTION", action), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf },
        body: JSON.stringify(body || {}),
      });
      data = await response.json();
    } catch (error) {
      showError(String(error));
      return;
    }
    if (data.verification) {
      showVerification(data.verification);
      verifiedKey = data.state && data.state.exhibit ? data.state.exhibit.key : null;
    }
    if (!response.ok) { showError(data.message || data.error || response.status); return; }
    screen.apply(data.state, data.version, data.server_time);
  }

  document.querySelectorAll("button.present").forEach(function (button) {
    button.addEventListener("click", function () {
      $("verification").hidden = true;
      send("show", { exhibit_id: Number(button.dataset.exhibitId), play: $("autoplay").checked });
    });
  });
  $("play").addEventListener("click", function () { send("play", { position: screen.position() }); });
  $("pause").addEventListener("click", function () { send("pause", { position: screen.position() }); });
  $("back").addEventListener("click", function () {
    send("seek", { position: Math.max(0, screen.position() - 10) });
  });
  $("forward").addEventListener("click", function () {
    send("seek", { position: Math.min(Number(seek.max), screen.position() + 10) });
  });
  seek.addEventListener("input", function () { dragging = true; });
  seek.addEventListener("change", function () {
    dragging = false;
    send("seek", { position: Number(seek.value) });
  });
  $("blank").addEventListener("click", function () { send("blank"); });
  $("unblank").addEventListener("click", function () { send("unblank"); });
  $("withdraw").addEventListener("click", function () { send("withdraw"); });
  $("zoom-reset").addEventListener("click", function () { send("zoom", { box: null }); });
  $("callouts-clear").addEventListener("click", function () { send("clear-callouts"); });
  $("open-audience").addEventListener("click", function () {
    const opened = window.open(config.audience, "sealroom-audience", "popup,width=1280,height=720");
    if (!opened) showError(text.popup_blocked);
  });

  setInterval(function () {
    const state = screen.state();
    if (!dragging && state && state.exhibit && state.exhibit.kind === "clip") {
      const position = screen.position();
      seek.value = String(position);
      // Shown on the session's clock (the clip's start plus the position in it), with the
      // wall-clock time: the same time code as the clip's page and the offline player.
      const clip = state.exhibit.clip || {};
      const start = clip.session_start || 0;
      $("position").dataset.seconds = (start + position).toFixed(3);
      $("position").textContent = window.SealroomTracks.stamp(clip.clock, start + position) +
        " / " + timecode(start + Number(seek.max));
    }
  }, 250);

  // Zoom: drag a rectangle on the presenter's copy of the diagram. A click without a drag
  // places a callout there, with the text typed beside it.
  const surface = $("preview-diagram");
  const zoomBox = $("zoom-box");
  let origin = null;

  // Fractions of the diagram's page (not of the stage: the picture is letterboxed in it).
  function pageBox() {
    const view = screen.diagramView();
    if (!view) return surface.getBoundingClientRect();
    const matrix = view.svg.getScreenCTM();
    const topLeft = new DOMPoint(0, 0).matrixTransform(matrix);
    const bottomRight = new DOMPoint(view.width, view.height).matrixTransform(matrix);
    return {
      left: topLeft.x, top: topLeft.y,
      width: bottomRight.x - topLeft.x, height: bottomRight.y - topLeft.y,
    };
  }
  function fraction(event) {
    const box = pageBox();
    return {
      x: Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1),
      y: Math.min(Math.max((event.clientY - box.top) / box.height, 0), 1),
    };
  }
  function place(element, rect) {
    const box = pageBox();
    const parent = stage.getBoundingClientRect();
    element.style.left = (box.left - parent.left + rect.x * box.width) + "px";
    element.style.top = (box.top - parent.top + rect.y * box.height) + "px";
    element.style.width = (rect.w * box.width) + "px";
    element.style.height = (rect.h * box.height) + "px";
  }
  function drawZoomBox(state) {
    const zoom = state && state.exhibit && state.exhibit.kind === "diagram" ? state.zoom : null;
    zoomBox.hidden = !zoom;
    if (zoom) place(zoomBox, zoom);
  }
  surface.addEventListener("pointerdown", function (event) {
    origin = fraction(event);
    surface.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  surface.addEventListener("pointermove", function (event) {
    if (!origin) return;
    const at = fraction(event);
    zoomBox.hidden = false;
    place(zoomBox, {
      x: Math.min(origin.x, at.x), y: Math.min(origin.y, at.y),
      w: Math.abs(at.x - origin.x), h: Math.abs(at.y - origin.y),
    });
  });
  surface.addEventListener("pointerup", function (event) {
    if (!origin) return;
    const at = fraction(event);
    const start = origin;
    origin = null;
    const w = Math.abs(at.x - start.x);
    const h = Math.abs(at.y - start.y);
    if (w < 0.02 && h < 0.02) {
      drawZoomBox(screen.state());
      const words = $("callout-text").value.trim();
      if (words) {
        send("callout", { x: at.x, y: at.y, text: words });
        $("callout-text").value = "";
      }
      return;
    }
    const side = function (size, from) { return Math.min(Math.max(size, 0.02), 1 - from); };
    const x = Math.min(Math.min(start.x, at.x), 0.98);
    const y = Math.min(Math.min(start.y, at.y), 0.98);
    send("zoom", { box: { x: x, y: y, w: side(w, x), h: side(h, y) } });
  });

  screen.apply(config.state, config.version, config.server_time);
  window.SealroomScreen.follow(screen, config.events, config.version, function (live) {
    stage.dataset.live = live ? "true" : "false";
  });
  window.sealroomPresenter = { screen: screen, send: send };  // for the browser tests
})();
