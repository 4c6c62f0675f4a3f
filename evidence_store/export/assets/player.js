// Offline player for a sealroom export package. A page opened from file:// cannot fetch
// files (so Media Source Extensions cannot be fed), but a <video> may play a local file.
// Each original segment plays in its own element; the next one is loaded in a second,
// hidden element while the current one plays, and the two swap when a segment ends.
// Only the segments the package lists (the ones verify.py checks) are ever played; the seek
// bar, the ±10 s skips and the speed move within them.
(function () {
  "use strict";
  var data = window.SEALROOM_PACKAGE;
  var SKIP_SECONDS = 10;
  var RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];
  if (data.tracks && data.tracks.length) { playTracks(data); return; }
  var screens = [document.getElementById("screen-a"), document.getElementById("screen-b")];
  var position = document.getElementById("position");
  var segmentName = document.getElementById("segment-name");
  var list = document.getElementById("segments");
  var seek = document.getElementById("seek");
  var speed = document.getElementById("speed");
  var active = 0; // which screen is visible
  var current = -1; // which segment it holds
  var ended = false;
  var scrubbing = false; // the seek bar is held: the clock does not move it meanwhile
  var rate = 1;

  function clock(us) {
    var seconds = Math.floor(us / 1e6);
    var ms = Math.floor((us % 1e6) / 1000);
    var pad = function (n, w) { return String(n).padStart(w, "0"); };
    return pad(Math.floor(seconds / 3600), 2) + ":" + pad(Math.floor(seconds / 60) % 60, 2) + ":" +
      pad(seconds % 60, 2) + "." + pad(ms, 3);
  }

  function describe() {
    var kind = data.kind === "clip" ? "Đoạn trích / Clip" : "Toàn bộ phiên / Whole session";
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
    screen.load(); // resets the rate to the default one, which carries the chosen speed
    screen.defaultPlaybackRate = rate;
    screen.playbackRate = rate;
  }

  // The listed segment that holds session time ``us`` (the last one before it, in a gap).
  function segmentAt(us) {
    var found = 0;
    data.segments.forEach(function (segment, index) { if (segment.start_us <= us) { found = index; } });
    return found;
  }

  function playing() { return current >= 0 && !screens[active].paused && !ended; }

  // Jump to session time ``us``, kept within what the package holds; playing goes on playing.
  function seekTo(us) {
    var last = data.segments[data.segments.length - 1];
    var end = Math.min(data.end_us, last.start_us + last.duration_us);
    us = Math.max(data.start_us, Math.min(end - 1000, us));
    var index = segmentAt(us);
    var offset = Math.max(0, us - data.segments[index].start_us) / 1e6;
    var wasPlaying = playing();
    if (index === current && screens[active].readyState >= 1) {
      ended = false;
      screens[active].currentTime = offset;
    } else {
      show(index, offset, wasPlaying);
    }
    showTime(us);
  }

  function now() { return Number(position.dataset.us); }

  function setRate(value) {
    rate = value;
    screens.forEach(function (screen) { screen.defaultPlaybackRate = value; screen.playbackRate = value; });
    speed.value = String(value);
    document.getElementById("player").dataset.rate = String(value);
  }

  function stepRate(direction) {
    var at = RATES.indexOf(rate);
    setRate(RATES[Math.max(0, Math.min(RATES.length - 1, at + direction))]);
  }

  function togglePlay() {
    if (playing()) { screens[active].pause(); } else { startPlaying(); }
  }

  function startPlaying() {
    if (ended) { active = 0; screens[1].classList.add("hidden"); screens[0].classList.remove("hidden"); show(0, offsetIn(0), true); return; }
    screens[active].play();
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
    if (screen.readyState >= 1 && screen.dataset.loaded === String(index)) { start(); } else {
      screen.addEventListener("loadedmetadata", function () { screen.dataset.loaded = String(index); start(); }, { once: true });
    }
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
    showTime(us);
    position.dataset.segment = String(current);
    if (data.kind === "clip" && us >= data.end_us && !ended) {
      stopAtEnd(segment);
    }
  }

  // A clip ends at its end, not where the next timeupdate (every quarter second or so) finds
  // it: the frame at the clip's end is held and the position reads the end exactly.
  function stopAtEnd(segment) {
    var screen = screens[active];
    screen.pause();
    ended = true;
    screen.currentTime = Math.max(0, (data.end_us - segment.start_us) / 1e6);
    showTime(data.end_us);
  }

  // While a clip plays, each frame the browser paints is checked against the clip's end
  // (timeupdate alone stops it up to a third of a second late). Works from file://.
  var watching = false;
  function watchEnd() {
    if (watching || data.kind !== "clip") { return; }
    watching = true;
    var check = function () {
      if (ended || current < 0 || screens[active].paused) { watching = false; return; }
      tick();
      if (ended) { watching = false; return; }
      window.requestAnimationFrame(check);
    };
    window.requestAnimationFrame(check);
  }

  function showTime(us) {
    position.dataset.us = String(us);
    // The session's clock with the wall-clock time beside it, as on the console's clip page.
    position.textContent = window.SealroomTracks.stamp({ timezone: data.timezone, runs: data.runs }, us / 1e6);
    if (!scrubbing) { seek.value = String(Math.round(us / 1000)); }
  }

  screens.forEach(function (screen, i) {
    screen.addEventListener("loadedmetadata", function () { screen.dataset.loaded = screen.dataset.index; });
    screen.addEventListener("ended", function () { if (i === active) { advance(); } });
    screen.addEventListener("timeupdate", function () { if (i === active) { tick(); } });
    screen.addEventListener("playing", function () { if (i === active) { watchEnd(); } });
    screen.addEventListener("error", function () {
      if (i === active) { segmentName.textContent = "⚠ " + (screen.dataset.index || "") + ": cannot play"; }
    });
  });
  document.getElementById("play").addEventListener("click", startPlaying);
  document.getElementById("pause").addEventListener("click", function () { screens[active].pause(); });
  document.getElementById("back").addEventListener("click", function () { seekTo(now() - SKIP_SECONDS * 1e6); });
  document.getElementById("forward").addEventListener("click", function () { seekTo(now() + SKIP_SECONDS * 1e6); });
  document.getElementById("fullscreen").addEventListener("click", function () { fullscreen(document.getElementById("player")); });
  speed.addEventListener("change", function () { setRate(Number(speed.value)); });
  seek.min = String(Math.round(data.start_us / 1000));
  seek.max = String(Math.round(data.end_us / 1000));
  seek.value = seek.min;
  seek.addEventListener("pointerdown", function () { scrubbing = true; });
  seek.addEventListener("input", function () { seekTo(Number(seek.value) * 1000); });
  seek.addEventListener("change", function () { scrubbing = false; seekTo(Number(seek.value) * 1000); });
  document.addEventListener("pointerup", function () { scrubbing = false; });
  shortcuts({
    toggle: togglePlay,
    skip: function (seconds) { seekTo(now() + seconds * 1e6); },
    rate: stepRate,
    fullscreen: function () { fullscreen(document.getElementById("player")); },
  });

  describe();
  show(0, offsetIn(0), false);
  showTime(data.start_us);

  // Fullscreen on, or off again (a second press or Esc).
  function fullscreen(element) {
    if (document.fullscreenElement) { document.exitFullscreen(); return; }
    if (element.requestFullscreen) { element.requestFullscreen().catch(function () {}); }
  }

  // The keys (shown on the page): Space or K play/pause, ←/J and →/L skip 10 s, < and >
  // slower and faster, F fullscreen. A key typed into the speed list is the list's own.
  function shortcuts(player) {
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.altKey || event.metaKey || event.target.tagName === "SELECT") { return; }
      var key = event.key;
      var actions = {
        " ": function () { player.toggle(); }, k: function () { player.toggle(); },
        ArrowLeft: function () { player.skip(-SKIP_SECONDS); }, j: function () { player.skip(-SKIP_SECONDS); },
        ArrowRight: function () { player.skip(SKIP_SECONDS); }, l: function () { player.skip(SKIP_SECONDS); },
        "<": function () { player.rate(-1); }, ",": function () { player.rate(-1); },
        ">": function () { player.rate(1); }, ".": function () { player.rate(1); },
        f: function () { player.fullscreen(); },
      };
      var action = actions[key.length === 1 ? key.toLowerCase() : key];
      if (!action) { return; }
      event.preventDefault(); // no second press of a focused button, no native slider step
      action();
    });
  }

  // A passthrough session: every camera and the sound, in step (tracks.js), the caption
  // drawn from the sealed metadata.
  function playTracks(data) {
    var container = document.getElementById("tracks");
    ["player", "segments"].forEach(function (id) {
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
    }, { full: true });
    var player = window.sealroomPlayer;
    var rates = RATES;
    shortcuts({
      toggle: function () { player.toggle(); },
      skip: function (seconds) { player.skip(seconds); },
      rate: function (direction) {
        var at = rates.indexOf(player.rate);
        player.setRate(rates[Math.max(0, Math.min(rates.length - 1, at + direction))]);
      },
      fullscreen: function () { fullscreen(container); },
    });
  }
})();
