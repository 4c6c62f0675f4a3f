// The multi-track player of a passthrough session: every camera's sealed segments and the
// room's sound, in step on the session's clock, with the caption drawn from the sealed
// metadata (never burned into the picture). One file for every player: the export's
// offline player (file://), the review page and the court screens (served over HTTP).
//
// Each track plays its own segment files, one at a time, in two <video> elements that swap
// at a segment's end (a page opened from file:// may play files but not fetch them, so no
// Media Source Extensions). One clock, the session's, drives them all: each element is
// kept within SYNC_SECONDS of it, re-seeked when it strays; a track with no segment at the
// current time (a camera joining or lost) shows a card saying so. Only the sound track is
// heard. Layouts: main camera with the others inset (the main one switchable), side by
// side, or one camera filling the screen.
(function (root) {
  "use strict";
  var SYNC_SECONDS = 0.12; // an element further than this from the session clock is re-seeked
  var TICK_MS = 100;

  function pad(n, width) { return String(n).padStart(width, "0"); }

  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds));
    return pad(Math.floor(whole / 3600), 2) + ":" + pad(Math.floor(whole / 60) % 60, 2) + ":" +
      pad(whole % 60, 2);
  }

  // The wall-clock time of session time ``t`` (pauses are not on the timeline: each run of
  // recording has its own start).
  function wallTime(caption, t) {
    var runs = caption.runs || [];
    var run = runs[0] || { at: 0, wall_ms: 0 };
    for (var i = 0; i < runs.length; i++) { if (runs[i].at <= t) { run = runs[i]; } }
    return new Date(run.wall_ms + (t - run.at) * 1000);
  }

  // ``hh:mm:ss.mmm`` on the session's clock: a clip's one time-code scheme, on its page, the
  // presenter and the offline player (web.clips.media.format_timecode writes the same).
  function timecode(seconds) {
    var millis = Math.max(0, Math.round(seconds * 1000));
    return clock(Math.floor(millis / 1000)) + "." + pad(millis % 1000, 3);
  }

  // The time code with the wall-clock time it was recorded at beside it, as on the clip's
  // page: "00:01:05.250 · 2026-12-07 09:31:05 GMT+7".
  function stamp(info, t) {
    if (!info || !info.runs || !info.runs.length) { return timecode(t); }
    return timecode(t) + " · " + wallText(info, t);
  }

  function wallText(caption, t) {
    var when = wallTime(caption, t);
    var parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: caption.timezone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
      timeZoneName: "shortOffset",
    }).formatToParts(when);
    var get = function (type) {
      var part = parts.find(function (p) { return p.type === type; });
      return part ? part.value : "";
    };
    // The console's one date format (yyyy-mm-dd hh:mm:ss), with the zone's offset.
    return get("year") + "-" + get("month") + "-" + get("day") + " " + get("hour") + ":" +
      get("minute") + ":" + get("second") + " " + get("timeZoneName");
  }

  function captionText(caption, t) {
    var when = wallText(caption, t).split(" ");
    var zone = when.pop();
    return when.join(" ") + " (" + zone + ")  ·  " + caption.room + "  ·  Vụ án " +
      caption.case_number + "  ·  " + clock(t);
  }

  // One track: its segments, two elements, and where it is.
  function Track(player, spec) {
    this.player = player;
    this.spec = spec;
    this.tile = document.createElement("div");
    this.tile.className = "track-tile";
    this.tile.dataset.track = spec.id;
    this.elements = [0, 1].map(function () {
      var element = document.createElement("video");
      element.playsInline = true;
      element.preload = "auto";
      element.muted = spec.kind !== "sound";
      element.className = "track-screen";
      element.dataset.segment = "-1";
      return element;
    });
    this.card = document.createElement("div");
    this.card.className = "track-card";
    this.label = document.createElement("span");
    this.label.className = "track-label";
    this.label.textContent = spec.device;
    this.elements.forEach(function (element) { this.tile.appendChild(element); }, this);
    this.tile.appendChild(this.card);
    this.tile.appendChild(this.label);
    this.active = 0;
    this.segment = -1;
    this.failed = null; // why this track cannot be played here (refused, undecodable)
    var self = this;
    this.elements.forEach(function (element) {
      element.addEventListener("error", function () { self.onError(element); });
    });
  }

  Track.prototype.at = function (t) {
    var segments = this.spec.segments;
    for (var i = 0; i < segments.length; i++) {
      var s = segments[i];
      if (t >= s.start - 0.001 && t < s.start + s.duration) { return i; }
    }
    return -1;
  };

  Track.prototype.load = function (element, index) {
    if (element.dataset.segment === String(index)) { return; }
    element.dataset.segment = String(index);
    element.src = this.spec.segments[index].src;
    element.load();
  };

  Track.prototype.onError = function (element) {
    var index = Number(element.dataset.segment);
    if (index < 0 || this.failed) { return; }
    var segment = this.spec.segments[index];
    var self = this;
    var messages = this.player.data.messages || {};
    var undecodable = messages.undecodable || "This browser cannot decode this camera's recording; the sealed file plays in VLC or ffplay.";
    if (!this.player.checkRefusal) { this.fail(undecodable); return; }
    this.player.checkRefusal(segment.src).then(function (refused) {
      self.fail(refused ? (messages.refused || "refused").replace("{time}", clock(segment.start)) : undecodable);
      if (refused) { self.player.refused(self, segment); }
    });
  };

  Track.prototype.fail = function (reason) {
    this.failed = reason;
    this.card.textContent = reason;
    this.tile.classList.add("failed");
  };

  // Keep this track at session time ``t`` (playing or not).
  Track.prototype.follow = function (t, playing) {
    if (this.failed) { return; }
    var index = this.at(t);
    var shown = this.elements[this.active];
    if (index < 0) {
      this.elements.forEach(function (e) { e.pause(); });
      this.tile.classList.add("gap");
      this.card.textContent = this.player.data.messages && this.player.data.messages.gap ||
        "KHÔNG CÓ HÌNH · NO RECORDING";
      this.segment = -1;
      return;
    }
    this.tile.classList.remove("gap");
    if (index !== this.segment) {
      var other = this.elements[1 - this.active];
      if (other.dataset.segment === String(index)) { // preloaded: swap
        shown.pause();
        this.active = 1 - this.active;
        shown = other;
      } else {
        this.load(shown, index);
      }
      this.segment = index;
      this.elements.forEach(function (e, i) { e.classList.toggle("hidden", i !== this.active); }, this);
      if (index + 1 < this.spec.segments.length) { this.load(this.elements[1 - this.active], index + 1); }
    }
    var wanted = t - this.spec.segments[index].start;
    if (shown.readyState >= 1 && Math.abs(shown.currentTime - wanted) > SYNC_SECONDS) {
      shown.currentTime = wanted;
    }
    if (playing && shown.paused) { shown.play().catch(function () {}); }
    if (!playing && !shown.paused) { shown.pause(); }
  };

  // Session time as this track shows it (for the sync check), or null.
  Track.prototype.position = function () {
    if (this.segment < 0 || this.failed) { return null; }
    var shown = this.elements[this.active];
    return this.spec.segments[this.segment].start + shown.currentTime;
  };

  function Player(container, data, options) {
    this.container = container;
    this.data = data;
    this.checkRefusal = options && options.checkRefusal;
    this.full = Boolean(options && options.full); // skips, speed and fullscreen (the export's player)
    this.rate = 1;
    this.start = data.start || 0;
    this.end = data.end || data.duration;
    this.time = this.start;
    this.playing = false;
    this.anchor = null; // performance.now() and session time when play last began
    this.stopAt = Infinity; // the start of the first refused segment: never played past
    this.layout = "inset";
    this.tracks = data.tracks.map(function (spec) { return new Track(this, spec); }, this);
    this.cameras = this.tracks.filter(function (t) { return t.spec.kind === "camera"; });
    this.sound = this.tracks.find(function (t) { return t.spec.kind === "sound"; }) || null;
    this.main = this.cameras[0] || null;
    this.build();
    this.follow();
    var self = this;
    this.timer = setInterval(function () { self.tick(); }, TICK_MS);
  }

  // Stop and take the player off the page (a court screen showing something else).
  Player.prototype.destroy = function () {
    clearInterval(this.timer);
    this.tracks.forEach(function (track) {
      track.elements.forEach(function (e) { e.pause(); e.removeAttribute("src"); e.load(); });
    });
    this.container.replaceChildren();
  };

  // Sound on or off (a court screen may have to start muted until someone clicks).
  Player.prototype.setMuted = function (muted) {
    if (this.sound) { this.sound.elements.forEach(function (e) { e.muted = muted; }); }
  };

  Player.prototype.build = function () {
    var self = this;
    this.stage = document.createElement("div");
    this.stage.className = "tracks-stage layout-inset";
    this.cameras.forEach(function (track) {
      self.stage.appendChild(track.tile);
      track.tile.addEventListener("click", function () { self.setMain(track.spec.id); });
    });
    if (this.sound) { this.sound.tile.classList.add("sound-tile"); this.container.appendChild(this.sound.tile); }
    this.caption = document.createElement("div");
    this.caption.className = "tracks-caption";
    this.caption.dataset.testid = "caption";
    this.stage.appendChild(this.caption);
    var controls = document.createElement("div");
    controls.className = "tracks-controls";
    var play = button("▶", "play", function () { self.play(); });
    var pause = button("❚❚", "pause", function () { self.pause(); });
    this.seek = document.createElement("input");
    this.seek.type = "range";
    this.seek.min = String(this.start);
    this.seek.max = String(this.end);
    this.seek.step = "0.1";
    this.seek.value = String(this.start);
    this.seek.dataset.testid = "seek";
    this.seek.addEventListener("input", function () { self.seekTo(Number(self.seek.value)); });
    this.clockText = document.createElement("span");
    this.clockText.className = "tracks-clock";
    controls.appendChild(play);
    controls.appendChild(pause);
    controls.appendChild(this.seek);
    controls.appendChild(this.clockText);
    if (this.full) { this.addFullControls(controls, button); }
    [["inset", "▣"], ["side", "◫"], ["single", "□"]].forEach(function (layout) {
      controls.appendChild(button(layout[1], "layout-" + layout[0], function () { self.setLayout(layout[0]); }));
    });
    this.cameras.forEach(function (track) {
      controls.appendChild(button(track.spec.device, "main-" + track.spec.id, function () { self.setMain(track.spec.id); }));
    });
    this.container.appendChild(this.stage);
    this.container.appendChild(controls);
    this.arrange();

    function button(text, name, action) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.dataset.action = name;
      b.addEventListener("click", action);
      return b;
    }
  };

  // Skip ±10 s, speed 0.5–2× and fullscreen, for a player that has the page to itself.
  Player.prototype.addFullControls = function (controls, button) {
    var self = this;
    controls.appendChild(button("↺ −10 s", "back", function () { self.skip(-10); }));
    controls.appendChild(button("+10 s ↻", "forward", function () { self.skip(10); }));
    this.speed = document.createElement("select");
    this.speed.dataset.action = "speed";
    this.speed.title = "Tốc độ / Speed";
    [0.5, 0.75, 1, 1.25, 1.5, 2].forEach(function (rate) {
      var option = document.createElement("option");
      option.value = String(rate);
      option.textContent = String(rate).replace(".", ",") + "×";
      option.selected = rate === 1;
      self.speed.appendChild(option);
    });
    this.speed.addEventListener("change", function () { self.setRate(Number(self.speed.value)); });
    controls.appendChild(this.speed);
    controls.appendChild(button("⛶", "fullscreen", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else { self.container.requestFullscreen().catch(function () {}); }
    }));
  };

  Player.prototype.arrange = function () {
    var main = this.main;
    this.stage.className = "tracks-stage layout-" + this.layout;
    var columns = this.layout === "side" ? Math.min(2, this.cameras.length) : 0;
    this.stage.style.gridTemplateColumns = columns ? "repeat(" + columns + ", 1fr)" : "";
    this.cameras.forEach(function (track) {
      track.tile.classList.toggle("main", track === main);
      this.stage.insertBefore(track.tile, track === main ? this.stage.firstChild : this.caption);
    }, this);
    this.container.dataset.layout = this.layout;
    this.container.dataset.main = main ? main.spec.id : "";
  };

  Player.prototype.setLayout = function (layout) { this.layout = layout; this.arrange(); };
  Player.prototype.setMain = function (id) {
    this.main = this.cameras.find(function (t) { return t.spec.id === id; }) || this.main;
    this.arrange();
  };

  Player.prototype.now = function () {
    if (!this.playing || this.anchor === null) { return this.time; }
    return this.anchor.t + (performance.now() - this.anchor.ms) / 1000 * this.rate;
  };

  Player.prototype.play = function () {
    if (this.time >= this.stopAt - 0.05) { return; }
    if (this.time >= this.end) { this.time = this.start; }
    this.playing = true;
    this.anchor = { ms: performance.now(), t: this.time };
    this.follow();
  };

  Player.prototype.pause = function () {
    this.time = this.now();
    this.playing = false;
    this.anchor = null;
    this.follow();
  };

  // Every element plays at ``rate``; the session clock runs at it too.
  Player.prototype.setRate = function (rate) {
    this.time = this.now();
    if (this.playing) { this.anchor = { ms: performance.now(), t: this.time }; }
    this.rate = rate;
    this.tracks.forEach(function (track) {
      track.elements.forEach(function (e) { e.defaultPlaybackRate = rate; e.playbackRate = rate; });
    });
    if (this.speed) { this.speed.value = String(rate); }
    this.container.dataset.rate = String(rate);
  };

  Player.prototype.toggle = function () { if (this.playing) { this.pause(); } else { this.play(); } };
  Player.prototype.skip = function (seconds) { this.seekTo(this.now() + seconds); };

  Player.prototype.seekTo = function (t) {
    this.time = Math.min(this.end, Math.max(this.start, t));
    if (this.playing) { this.anchor = { ms: performance.now(), t: this.time }; }
    this.follow();
  };

  // A segment that does not match its seal: playback stops where it begins, and goes no
  // further (as the single-track player does).
  Player.prototype.refused = function (track, segment) {
    this.stopAt = Math.min(this.stopAt, segment.start);
    if (this.now() >= this.stopAt - 0.05) { this.pause(); }
  };

  Player.prototype.tick = function () {
    this.time = this.now();
    if (this.time >= this.end) { this.time = this.end; this.pause(); }
    if (this.playing && this.time >= this.stopAt - 0.05) {
      this.time = Math.max(this.start, this.stopAt - 0.05);
      this.pause();
    }
    this.follow();
  };

  Player.prototype.follow = function () {
    var t = this.time;
    var playing = this.playing;
    this.tracks.forEach(function (track) { track.follow(t, playing); });
    this.caption.textContent = captionText(this.data.caption, t);
    this.clockText.textContent = timecode(t);
    this.container.dataset.time = t.toFixed(3);
    this.container.dataset.playing = String(playing);
    if (document.activeElement !== this.seek) { this.seek.value = String(t); }
  };

  // Where each track is, on the session clock: the sync a test (or a person) can check.
  Player.prototype.positions = function () {
    var out = {};
    this.tracks.forEach(function (track) { out[track.spec.id] = track.position(); });
    return out;
  };

  root.SealroomTracks = {
    Player: Player, captionText: captionText, clock: clock, timecode: timecode, stamp: stamp,
  };
})(window);
