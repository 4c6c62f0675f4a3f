// Plays a session's sealed segments back to back with Media Source Extensions.
// Each segment is a complete fragmented MP4 whose timestamps start at 0; it is appended
// unchanged, shifted to its place on the session timeline with timestampOffset.
//
// The console sends a segment only if it matches its seal; otherwise it answers 409. The
// player then stops at that point of the timeline with a warning (#player-refused, above
// the picture, in the page's language) instead of playing on, and never asks for that
// segment again. The refused part is marked on the seek bar, and the session's state at the
// top of the page turns at once to what the console now shows for it (the 409 says which);
// the "last verification" line follows (review.js asks the console for it).
// Every request says why it is made (Sealroom-Fetch): "prefetch" while the player loads
// ahead of what is watched, "playback" for the part being played, so a refusal found by
// loading ahead never reads as someone having played it.
// Bookmarks, markers, speed and frame step are review.js's.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("player-data").textContent);
  const tracks = document.getElementById("tracks");

  // What a refusal changes on the page besides the player: the mark of the refused part on
  // the seek bar, and the session's shown state.
  function markRefused(start, duration, kind) {
    const bar = document.getElementById("markers");
    const total = data.duration;
    if (bar && total > 0 && !bar.querySelector('.refused-span[data-start="' + start + '"]')) {
      const span = document.createElement("div");
      span.className = "refused-span";
      span.dataset.start = String(start);
      span.dataset.testid = "refused-span";
      span.style.left = Math.min(100, (start / total) * 100) + "%";
      span.style.width = Math.min(100, (duration / total) * 100) + "%";
      span.title = data.messages.refused_span || "";
      bar.insertBefore(span, bar.firstChild);  // under the bookmarks, which stay clickable
    }
    const shown = document.getElementById("shown-state");
    const states = data.states || {};
    if (shown) {
      shown.textContent = states[kind] || states.failed || shown.textContent;
      shown.className = "bad";
      shown.dataset.state = kind;
    }
    // The console recorded the refusal: review.js asks it for the "last verification" line.
    document.dispatchEvent(new CustomEvent("sealroom:refused", { detail: { kind: kind } }));
  }
  function refusedKind(response) {
    return response.headers.get("Sealroom-Verdict") || "tampered";
  }

  if (tracks && data.tracks) {
    // A passthrough session: every camera and the sound in step (tracks.js, loaded before
    // this script), each segment served only if it matches its seal.
    const refused = function (src) {
      return fetch(src, { method: "HEAD", credentials: "same-origin", headers: { "Sealroom-Fetch": "playback" } })
        .then(function (response) {
          if (response.status !== 409) return false;
          data.tracks.forEach(function (track) {
            track.segments.forEach(function (s) {
              if (s.src === src) markRefused(s.start, s.duration, refusedKind(response));
            });
          });
          return true;
        })
        .catch(function () { return false; });
    };
    const start = function () {
      window.sealroomPlayer = new window.SealroomTracks.Player(tracks, data, { checkRefusal: refused });
    };
    if (window.SealroomTracks) { start(); } else { window.addEventListener("load", start); }
    return;
  }
  const video = document.getElementById("player");
  if (!video || !data.segments.length) return;
  const AHEAD_SECONDS = 12;   // buffer this much beyond the playhead
  const BEHIND_SECONDS = 30;  // and drop what is further behind, to bound memory
  const STOP_EARLY_SECONDS = 0.1;  // pause this close to a refused segment
  const RETRY_FIRST_MS = 500;  // after a failed fetch (not a refusal), wait this long,
  const RETRY_MAX_MS = 8000;   // doubling up to this, so an outage is not hammered
  const refused = new Set();   // indexes of segments the console refused
  const notice = document.getElementById("player-refused");
  let watching = false;  // someone pressed play, or moved the playhead, since the page opened
  video.addEventListener("play", function () { watching = true; });
  video.addEventListener("seeking", function () { watching = true; });

  // Why segment ``index`` is asked for: the part being watched, or loading ahead of it.
  function purpose(index) {
    const at = indexAt(video.currentTime + STOP_EARLY_SECONDS);
    return watching && index <= at ? "playback" : "prefetch";
  }

  function indexAt(t) {
    for (let i = data.segments.length - 1; i >= 0; i--) {
      if (t >= data.segments[i].start - 0.001) return i;
    }
    return 0;
  }

  // The clips' one time code, hh:mm:ss.mmm from the session's start (web.clips.format_timecode).
  function clock(seconds) {
    const ms = Math.max(0, Math.round(seconds * 1000));
    const two = (n) => String(n).padStart(2, "0");
    const whole = Math.floor(ms / 1000);
    return two(Math.floor(whole / 3600)) + ":" + two(Math.floor((whole % 3600) / 60)) + ":" +
      two(whole % 60) + "." + String(ms % 1000).padStart(3, "0");
  }

  function showRefusal(index) {
    if (!notice) return;
    if (!notice.hidden && notice.dataset.segment === String(index)) return;
    notice.textContent = data.messages.refused.replace("{time}", clock(data.segments[index].start));
    notice.dataset.segment = String(index);
    notice.hidden = false;
  }

  // Pause at (just before) a refused segment: the player never plays on past it by itself.
  function stopAtRefused() {
    const index = indexAt(video.currentTime + STOP_EARLY_SECONDS);
    if (!refused.has(index)) return;
    if (!video.paused) video.pause();
    showRefusal(index);
  }
  video.addEventListener("timeupdate", stopAtRefused);
  video.addEventListener("waiting", stopAtRefused);
  video.addEventListener("play", stopAtRefused);

  if (!window.MediaSource || !MediaSource.isTypeSupported(data.mime)) {
    // Fallback: one segment at a time.
    let current = 0;
    video.src = data.segments[0].url;
    video.addEventListener("error", function () {  // a refusal (409), or another failure?
      const index = current;
      fetch(data.segments[index].url, {
        method: "HEAD", credentials: "same-origin", headers: { "Sealroom-Fetch": purpose(index) },
      }).then(function (response) {
        if (response.status === 409) {
          refused.add(index);
          showRefusal(index);
          markRefused(data.segments[index].start, data.segments[index].duration, refusedKind(response));
        }
      });
    });
    video.addEventListener("ended", function () {
      if (++current < data.segments.length) { video.src = data.segments[current].url; video.play(); }
    });
    return;
  }

  const source = new MediaSource();
  video.src = URL.createObjectURL(source);
  source.addEventListener("sourceopen", function () {
    source.duration = data.duration;
    const buffer = source.addSourceBuffer(data.mime);
    let next = 0;        // next segment to append
    let loading = false;
    let generation = 0;  // bumped on seek: stale downloads are dropped
    let retryDelay = 0;  // ms to wait after the last failed fetch (0: none failed)

    function whenIdle() {
      return buffer.updating
        ? new Promise(function (resolve) { buffer.addEventListener("updateend", resolve, { once: true }); })
        : Promise.resolve();
    }

    async function feed() {
      if (loading || next >= data.segments.length || refused.has(next)) return;
      const segment = data.segments[next];
      if (segment.start > video.currentTime + AHEAD_SECONDS) return;
      loading = true;
      const mine = generation;
      let failed = false;
      try {
        const response = await fetch(segment.url, {
          credentials: "same-origin", headers: { "Sealroom-Fetch": purpose(next) },
        });
        if (response.status === 409) {  // not the sealed bytes: never played, never asked again
          refused.add(next);
          showRefusal(next);
          markRefused(segment.start, segment.duration, refusedKind(response));
          stopAtRefused();
          return;
        }
        if (!response.ok || response.redirected) {  // e.g. a login page: not the segment
          throw new Error("segment " + next + ": HTTP " + response.status);
        }
        const bytes = await response.arrayBuffer();
        if (mine !== generation) return;
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
        if (next >= data.segments.length && source.readyState === "open") {
          source.endOfStream();
        }
      } catch (error) {
        console.error(error);
        failed = true;
      } finally {
        loading = false;
      }
      if (!failed) { feed(); return; }
      retryDelay = Math.min(retryDelay ? retryDelay * 2 : RETRY_FIRST_MS, RETRY_MAX_MS);
      setTimeout(feed, retryDelay);
    }

    video.addEventListener("timeupdate", feed);
    video.addEventListener("seeking", function () {
      const wanted = indexAt(video.currentTime);
      const ranges = buffer.buffered;
      for (let i = 0; i < ranges.length; i++) {
        if (video.currentTime >= ranges.start(i) && video.currentTime <= ranges.end(i)) return;
      }
      generation += 1;
      next = wanted;
      loading = false;
      feed();
    });
    feed();
  });
})();
