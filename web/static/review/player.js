// Plays a session's sealed segments back to back with Media Source Extensions.
// Each segment is a complete fragmented MP4 whose timestamps start at 0; it is appended
// unchanged, shifted to its place on the session timeline with timestampOffset.
(function () {
  "use strict";
  const video = document.getElementById("player");
  const data = JSON.parse(document.getElementById("player-data").textContent);
  if (!video || !data.segments.length) return;
  const AHEAD_SECONDS = 12;   // buffer this much beyond the playhead
  const BEHIND_SECONDS = 30;  // and drop what is further behind, to bound memory

  function indexAt(t) {
    for (let i = data.segments.length - 1; i >= 0; i--) {
      if (t >= data.segments[i].start - 0.001) return i;
    }
    return 0;
  }

  if (!window.MediaSource || !MediaSource.isTypeSupported(data.mime)) {
    // Fallback: one segment at a time.
    let current = 0;
    video.src = data.segments[0].url;
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

    function whenIdle() {
      return buffer.updating
        ? new Promise(function (resolve) { buffer.addEventListener("updateend", resolve, { once: true }); })
        : Promise.resolve();
    }

    async function feed() {
      if (loading || next >= data.segments.length) return;
      const segment = data.segments[next];
      if (segment.start > video.currentTime + AHEAD_SECONDS) return;
      loading = true;
      const mine = generation;
      try {
        const response = await fetch(segment.url, { credentials: "same-origin" });
        if (!response.ok) throw new Error("segment " + next + ": HTTP " + response.status);
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
        if (next >= data.segments.length && source.readyState === "open") {
          source.endOfStream();
        }
      } catch (error) {
        console.error(error);
      } finally {
        loading = false;
      }
      feed();
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

  document.querySelectorAll("a.seek").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      video.currentTime = parseFloat(link.dataset.seconds);
    });
  });
  const form = document.getElementById("bookmark-form");
  if (form) {
    form.addEventListener("submit", function () {
      document.getElementById("bookmark-offset").value = Math.round(video.currentTime * 1000);
    });
  }
})();
