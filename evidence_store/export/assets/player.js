// Offline player for a sealroom export package. A page opened from file:// cannot fetch
// files (so Media Source Extensions cannot be fed), but a <video> may play a local file.
// Each original segment plays in its own element; the next one is loaded in a second,
// hidden element while the current one plays, and the two swap when a segment ends.
(function () {
  "use strict";
  var data = window.SEALROOM_PACKAGE;
  if (data.tracks && data.tracks.length) { playTracks(data); return; }
  var screens = [document.getElementById("screen-a"), document.getElementById("screen-b")];
  var position = document.getElementById("position");
  var segmentName = document.getElementById("segment-name");
  var list = document.getElementById("segments");
  var active = 0; // which screen is visible
  var current = -1; // which segment it holds
  var ended = false;

  function clock(us) {
    var seconds = Math.floor(us / 1e6);
    var ms = Math.floor((us % 1e6) / 1000);
    var pad = function (n, w) { return String(n).padStart(w, "0"); };
    return Math.floor(seconds / 3600) + ":" + pad(Math.floor(seconds / 60) % 60, 2) + ":" +
      pad(seconds % 60, 2) + "." + pad(ms, 3);
  }

  function describe() {
    var kind = data.kind === "clip" ? "Trích đoạn / Clip" : "Toàn bộ phiên / Whole session";
    document.getElementById("heading").textContent =
      "sealroom — " + data.case_number + (data.title ? " — " + data.title : "");
    document.getElementById("facts").textContent = kind + " · " + data.session + " · " +
      data.room + " · " + clock(data.start_us) + " – " + clock(data.end_us);
    data.segments.forEach(function (segment, index) {
      var item = document.createElement("li");
      item.textContent = segment.name + "  " + clock(segment.start_us);
      item.addEventListener("click", function () { show(index, 0, true); });
      list.appendChild(item);
    });
  }

  // Where playback of segment ``index`` begins: a clip starts inside its first segment.
  function offsetIn(index) {
    var segment = data.segments[index];
    return Math.max(0, data.start_us - segment.start_us) / 1e6;
  }

  function prepare(screen, index) {
    screen.dataset.index = String(index);
    screen.src = data.segments[index].src;
    screen.load();
  }

  function show(index, offsetSeconds, play) {
    var screen = screens[active];
    if (Number(screen.dataset.index) !== index) {
      prepare(screen, index);
    }
    current = index;
    ended = false;
    var start = function () {
      screen.currentTime = offsetSeconds;
      if (play) { screen.play(); }
    };
    if (screen.readyState >= 1) { start(); } else { screen.addEventListener("loadedmetadata", start, { once: true }); }
    var next = screens[1 - active];
    if (index + 1 < data.segments.length) { prepare(next, index + 1); }
    Array.prototype.forEach.call(list.children, function (item, i) {
      item.classList.toggle("current", i === index);
    });
    segmentName.textContent = data.segments[index].name;
  }

  function advance() {
    if (current + 1 >= data.segments.length) { ended = true; return; }
    var wasPlaying = !screens[active].paused || screens[active].ended;
    screens[active].classList.add("hidden");
    screens[active].pause();
    active = 1 - active;
    screens[active].classList.remove("hidden");
    show(current + 1, 0, wasPlaying);
  }

  function tick() {
    if (current < 0) { return; }
    var segment = data.segments[current];
    // A segment's media may run a frame past its sealed duration; the timeline is the seal's.
    var us = segment.start_us +
      Math.min(Math.round(screens[active].currentTime * 1e6), segment.duration_us);
    position.dataset.us = String(us);
    position.dataset.segment = String(current);
    position.textContent = clock(us);
    if (data.kind === "clip" && us >= data.end_us && !ended) {
      screens[active].pause();
      ended = true;
    }
  }

  screens.forEach(function (screen, i) {
    screen.addEventListener("ended", function () { if (i === active) { advance(); } });
    screen.addEventListener("timeupdate", function () { if (i === active) { tick(); } });
    screen.addEventListener("error", function () {
      if (i === active) { segmentName.textContent = "⚠ " + (screen.dataset.index || "") + ": cannot play"; }
    });
  });
  document.getElementById("play").addEventListener("click", function () {
    if (ended) { active = 0; screens[1].classList.add("hidden"); screens[0].classList.remove("hidden"); show(0, offsetIn(0), true); return; }
    screens[active].play();
  });
  document.getElementById("pause").addEventListener("click", function () { screens[active].pause(); });

  describe();
  show(0, offsetIn(0), false);

  // A passthrough session: every camera and the sound, in step (tracks.js), the caption
  // drawn from the sealed metadata.
  function playTracks(data) {
    var container = document.getElementById("tracks");
    ["stage", "controls", "segments"].forEach(function (id) {
      document.getElementById(id).style.display = "none";
    });
    container.hidden = false;
    document.getElementById("heading").textContent = "sealroom — " + data.case_number +
      (data.title ? " — " + data.title : "");
    document.getElementById("facts").textContent = data.session + " · " + data.room;
    var tracks = data.tracks.map(function (track) {
      return {
        id: track.id, kind: track.kind, device: track.device,
        segments: data.segments.filter(function (s) { return s.track === track.id; })
          .map(function (s) {
            return { src: s.src, name: s.name, start: s.start_us / 1e6, duration: s.duration_us / 1e6 };
          }),
      };
    });
    window.sealroomPlayer = new window.SealroomTracks.Player(container, {
      tracks: tracks,
      start: data.start_us / 1e6,
      end: data.end_us / 1e6,
      caption: { room: data.room, case_number: data.case_number, timezone: data.timezone, runs: data.runs },
    });
  }
})();
