// The courtroom's screens.
//
// SealroomClipPlayer plays a clip: the sealed original segments it covers, unchanged, appended
// with Media Source Extensions at their place on the clip's timeline (which starts at the
// first covered segment), from the clip's in point to its out point. Never a re-encoded copy.
//
// SealroomScreen shows a presentation state: a clip (kept in step with the presenter's
// play/pause/seek, compensating the time the command took to arrive), a diagram (with zoom
// and callouts), a neutral notice, or nothing (blank). The audience screen and the
// presenter's preview both follow the hearing's server-sent events (the preview also takes
// its own commands' answers at once), so two presenters stay in step.
//
// This file also boots the two pages that only show: the audience screen (#audience) and a
// clip's page (#clip-player).
(function () {
  "use strict";
  const AHEAD_SECONDS = 10;   // buffer this much beyond the playhead
  const BEHIND_SECONDS = 30;  // and drop what is further behind, to bound memory
  const DRIFT_SECONDS = 0.3;  // re-seek when further than this from where the presenter is
  const RETRY_FIRST_MS = 500;  // after a failed fetch (not a refusal), wait this long,
  const RETRY_MAX_MS = 8000;   // doubling up to this, so an outage is not hammered

  // options.onRefused(message): the console refused a segment (409, it does not match the
  // clip's seal); the player then fetches nothing more.
  function createClipPlayer(video, media, options) {
    options = options || {};
    const segments = media.segments;
    const inPoint = media.in;
    const outPoint = media.out;
    const length = outPoint - inPoint;
    const listeners = [];
    let destroyed = false;
    let source = null;
    let buffer = null;
    let next = 0;          // next segment to append
    let loading = false;
    let generation = 0;    // bumped on seek: stale downloads are dropped
    let guard = null;      // interval that stops playback at the out point
    let refused = false;   // a segment was refused: this clip is not played any further
    let retryDelay = 0;    // ms to wait after the last failed fetch (0: none failed)
    let retryTimer = null;
    let resolveReady;
    const ready = new Promise(function (resolve) { resolveReady = resolve; });

    function on(target, type, handler) {
      target.addEventListener(type, handler);
      listeners.push([target, type, handler]);
    }
    function indexAt(t) {
      for (let i = segments.length - 1; i >= 0; i--) {
        if (t >= segments[i].start - 0.001) return i;
      }
      return 0;
    }
    function clamp(position) { return Math.min(Math.max(position, 0), length); }
    function buffered(t) {
      const ranges = video.buffered;
      for (let i = 0; i < ranges.length; i++) {
        if (t >= ranges.start(i) - 0.05 && t < ranges.end(i) - 0.05) return true;
      }
      return false;
    }
    function whenIdle() {
      return buffer.updating
        ? new Promise(function (resolve) { buffer.addEventListener("updateend", resolve, { once: true }); })
        : Promise.resolve();
    }

    function retryLater() {
      // Not a refusal (the console or its bucket is unreachable): try again, less and less often.
      retryDelay = retryDelay ? Math.min(retryDelay * 2, RETRY_MAX_MS) : RETRY_FIRST_MS;
      retryTimer = setTimeout(function () { retryTimer = null; feed(); }, retryDelay);
    }

    async function feed() {
      if (destroyed || refused || retryTimer || !buffer || loading) return;
      if (next >= segments.length) return;
      const segment = segments[next];
      if (segment.start > video.currentTime + AHEAD_SECONDS) return;
      loading = true;
      const mine = generation;
      let failed = false;
      try {
        // The console checks each segment against the clip's seal as it sends it; a refused
        // one (409) is never played, and not asked for again: the court screen's state turns
        // to the notice, and the clip page shows the console's message.
        const response = await fetch(segment.url, { credentials: "same-origin" });
        if (response.status === 409) {
          refused = true;
          const message = await response.text();
          if (!destroyed && options.onRefused) options.onRefused(message);
          return;
        }
        if (!response.ok || response.redirected) {  // e.g. a login page: not the segment
          throw new Error("segment " + segment.url + ": HTTP " + response.status);
        }
        const bytes = await response.arrayBuffer();
        if (mine !== generation || destroyed) return;
        await whenIdle();
        buffer.timestampOffset = segment.start;
        buffer.appendBuffer(bytes);
        await whenIdle();
        if (video.currentTime > BEHIND_SECONDS) {
          buffer.remove(0, video.currentTime - BEHIND_SECONDS);
          await whenIdle();
        }
        next += 1;
        retryDelay = 0;
        if (next >= segments.length && source.readyState === "open") source.endOfStream();
      } catch (error) {
        failed = true;
        if (!destroyed) console.error(error);
      } finally {
        if (mine === generation) loading = false;
      }
      if (destroyed || refused || mine !== generation) return;  // a seek has taken over
      if (failed) retryLater();
      else feed();
    }

    function stopAtOut() {
      if (video.currentTime >= outPoint - 0.03) {
        video.pause();
        if (video.currentTime > outPoint) video.currentTime = outPoint;
        video.dispatchEvent(new Event("clipend"));
      }
    }

    on(video, "timeupdate", function () { feed(); stopAtOut(); });
    on(video, "playing", function () {
      clearInterval(guard);
      guard = setInterval(stopAtOut, 40);  // timeupdate alone would overshoot the out point
    });
    on(video, "pause", function () { clearInterval(guard); });
    on(video, "seeking", function () {
      // Only the clip is shown: the native controls of the clip page cannot leave it.
      if (video.currentTime < inPoint - 0.01) { video.currentTime = inPoint; return; }
      if (video.currentTime > outPoint + 0.01) { video.currentTime = outPoint; return; }
      if (buffered(video.currentTime)) return;
      generation += 1;
      next = indexAt(video.currentTime);
      loading = false;
      feed();
    });
    on(video, "loadedmetadata", function () {
      if (video.currentTime < inPoint) video.currentTime = inPoint;
    });
    on(video, "canplay", function () {
      if (video.currentTime >= inPoint - 0.01) resolveReady();
    });

    if (window.MediaSource && MediaSource.isTypeSupported(media.mime)) {
      source = new MediaSource();
      const objectUrl = URL.createObjectURL(source);
      video.src = objectUrl;
      on(source, "sourceopen", function () {
        URL.revokeObjectURL(objectUrl);
        const last = segments[segments.length - 1];
        source.duration = last.start + last.duration;
        buffer = source.addSourceBuffer(media.mime);
        next = indexAt(inPoint);
        feed();
      });
    } else {
      // No MSE: play the covered segment files one after the other (the first one only,
      // seeking within it, is enough for most clips; later ones follow on "ended").
      let current = indexAt(inPoint);
      video.src = segments[current].url;
      on(video, "ended", function () {
        if (++current < segments.length) { video.src = segments[current].url; video.play(); }
      });
    }

    return {
      ready: ready,
      length: length,
      video: video,
      position: function () { return clamp(video.currentTime - inPoint); },
      seek: function (position) { video.currentTime = inPoint + clamp(position); },
      play: function () {
        if (video.currentTime >= outPoint - 0.03) return Promise.resolve();
        return video.play();
      },
      pause: function () { video.pause(); },
      destroy: function () {
        destroyed = true;
        generation += 1;
        clearInterval(guard);
        clearTimeout(retryTimer);
        listeners.forEach(function (l) { l[0].removeEventListener(l[1], l[2]); });
        video.pause();
        video.removeAttribute("src");
        video.load();
      },
    };
  }

  // A clip of a passthrough session: every camera and the sound in step (tracks.js), behind
  // the same interface as createClipPlayer, so the screens drive either.
  function createTracksClipPlayer(container, media, options) {
    options = options || {};
    const refused = function (src) {
      return fetch(src, { method: "HEAD", credentials: "same-origin" })
        .then(function (response) {
          if (response.status !== 409) return false;
          if (options.onRefused) options.onRefused(media.messages.refused || "");
          return true;
        })
        .catch(function () { return false; });
    };
    const tracks = new window.SealroomTracks.Player(container, media, { checkRefusal: refused });
    const length = media.end - media.start;
    const facade = {
      get paused() { return !tracks.playing; },
      get muted() { return tracks.sound ? tracks.sound.elements[0].muted : true; },
      set muted(value) { tracks.setMuted(value); },
      readyState: 4,
    };
    return {
      ready: Promise.resolve(),
      length: length,
      video: facade,
      tracks: tracks,
      position: function () { return Math.min(Math.max(tracks.now() - media.start, 0), length); },
      seek: function (position) { tracks.seekTo(media.start + position); },
      play: function () { tracks.play(); return Promise.resolve(); },
      pause: function () { tracks.pause(); },
      destroy: function () { tracks.destroy(); container.remove(); },
    };
  }

  // A screen: {root, video, diagram, notice} elements. options.muted for the preview;
  // options.onChange(state) after each state is shown.
  function createScreen(parts, options) {
    options = options || {};
    let clockOffset = 0;   // server clock minus this browser's clock, in ms
    let shownKey = null;
    let player = null;
    let diagramView = null;
    let state = null;
    let version = -1;

    function serverNow() { return Date.now() + clockOffset; }
    function target(playback) {
      let position = playback.position;
      if (playback.playing) position += (serverNow() - playback.at) / 1000;
      return Math.min(Math.max(position, 0), player ? player.length : position);
    }
    function sync() {
      if (!player || !state || !state.exhibit || state.exhibit.kind !== "clip") return;
      const playback = state.playback;
      const wanted = target(playback);
      if (Math.abs(player.position() - wanted) > DRIFT_SECONDS) player.seek(wanted);
      if (playback.playing && !state.blank) {
        if (player.video.paused) startPlaying();
      } else if (!player.video.paused) {
        player.pause();
      }
    }
    function startPlaying() {
      const video = player.video;
      video.muted = !!options.muted;
      player.play().catch(function (error) {
        if (error && error.name === "NotAllowedError" && !video.muted) {
          // The browser wants a click before sound: play muted until someone clicks.
          video.muted = true;
          parts.root.classList.add("muted");
          player.play().catch(function () {});
        }
      });
    }
    function clear() {
      if (player) { player.destroy(); player = null; }
      parts.diagram.replaceChildren();
      diagramView = null;
      parts.notice.textContent = "";
      parts.root.dataset.kind = "none";
    }
    function drawDiagram() {
      const zoom = options.ignoreZoom ? null : state.zoom;
      parts.diagram.dataset.zoom = zoom
        ? [zoom.x, zoom.y, zoom.w, zoom.h].map(function (v) { return v.toFixed(4); }).join(",")
        : "";
      if (!window.SealroomDiagram) return;
      if (!diagramView) {
        // Drawn once per presentation; zoom and callouts then change the SVG in place, so
        // the page picture is not fetched again.
        diagramView = window.SealroomDiagram.render(
          parts.diagram, state.exhibit.diagram, { zoom: zoom, callouts: state.callouts }
        );
      } else {
        diagramView.setZoom(zoom);
        diagramView.setCallouts(state.callouts);
      }
    }
    function show(exhibit) {
      clear();
      shownKey = exhibit ? exhibit.key : null;
      if (!exhibit) return;
      parts.root.dataset.kind = exhibit.kind;
      if (exhibit.kind === "clip" && exhibit.clip.tracks && window.SealroomTracks) {
        const container = document.createElement("div");
        container.className = "screen-tracks";
        parts.video.after(container);
        parts.root.dataset.tracks = "true";
        player = createTracksClipPlayer(container, exhibit.clip);
      } else if (exhibit.kind === "clip") {
        parts.root.dataset.tracks = "false";
        player = createClipPlayer(parts.video, exhibit.clip);
        const mine = player;
        player.ready.then(function () { if (player === mine) sync(); });
      } else if (exhibit.kind === "unverified") {
        parts.notice.textContent = exhibit.notice;
      }
    }

    function apply(next, nextVersion, serverTime) {
      if (serverTime) clockOffset = serverTime - Date.now();
      if (nextVersion !== undefined) {
        if (nextVersion <= version && nextVersion !== 0) return;  // an older answer, late
        version = nextVersion;
      }
      state = next;
      const exhibit = state.exhibit;
      if ((exhibit ? exhibit.key : null) !== shownKey) show(exhibit);
      parts.root.classList.toggle("blank", !!state.blank);
      parts.root.dataset.version = String(version);
      if (exhibit && exhibit.kind === "diagram") drawDiagram();
      sync();
      if (options.onChange) options.onChange(state);
    }

    // Stay in step between commands: a clip playing for minutes drifts a little.
    setInterval(function () { if (state && state.playback && state.playback.playing) sync(); }, 2000);
    parts.root.addEventListener("click", function () {
      if (parts.video.muted && !options.muted) {
        parts.video.muted = false;
        parts.root.classList.remove("muted");
      }
    });

    return {
      apply: apply,
      state: function () { return state; },
      player: function () { return player; },
      diagramView: function () { return diagramView; },
      position: function () {
        if (player && player.video.readyState > 0) return player.position();
        return state && state.playback ? target(state.playback) : 0;
      },
    };
  }

  // Keep a screen in step with the hearing's event stream. EventSource reconnects by itself
  // when the server ends a stream, sending Last-Event-ID; after a refusal (the server busy, a
  // login that expired) it gives up, so start anew. onLive(true/false) reports the link.
  function follow(screen, eventsUrl, version, onLive) {
    function connect() {
      const events = new EventSource(eventsUrl + "?since=" + encodeURIComponent(version));
      events.addEventListener("open", function () { if (onLive) onLive(true); });
      events.addEventListener("error", function () {
        if (onLive) onLive(false);
        if (events.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
      });
      events.addEventListener("state", function (message) {
        const data = JSON.parse(message.data);
        version = data.version;
        screen.apply(data.state, data.version, data.server_time);
      });
    }
    connect();
  }

  window.SealroomClipPlayer = { create: createClipPlayer, createTracks: createTracksClipPlayer };
  window.SealroomScreen = { create: createScreen, follow: follow };

  function bootAudience() {
    const root = document.getElementById("audience");
    if (!root) return;
    const config = JSON.parse(document.getElementById("audience-config").textContent);
    const screen = createScreen({
      root: root,
      video: document.getElementById("audience-video"),
      diagram: document.getElementById("audience-diagram"),
      notice: document.getElementById("audience-notice"),
    });
    screen.apply(config.state, config.version, config.server_time);
    follow(screen, config.events, config.version, function (live) {
      root.dataset.live = live ? "true" : "false";
    });
    window.sealroomAudience = screen;  // for the browser tests
  }

  function bootClipPage() {
    const video = document.getElementById("clip-player");
    if (!video) return;
    const media = JSON.parse(document.getElementById("clip-data").textContent);
    const notice = document.getElementById("clip-refused");
    if (media.tracks && window.SealroomTracks) {
      const container = document.createElement("div");
      container.id = "clip-tracks";
      video.after(container);
      video.hidden = true;
      window.sealroomClip = createTracksClipPlayer(container, media, {
        onRefused: function (message) { notice.textContent = message; notice.hidden = false; },
      });
      return;
    }
    window.sealroomClip = createClipPlayer(video, media, {
      onRefused: function (message) {
        video.pause();
        notice.textContent = message;
        notice.hidden = false;
      },
    });
  }

  bootAudience();
  bootClipPage();
})();
