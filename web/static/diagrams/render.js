// Draws a diagram: its page picture plus its annotation layers as one SVG, built with DOM
// calls only (createElementNS + textContent: user text is never parsed as markup).
// Used by the diagram pages, the editor, and the presenter and audience screens:
//
//   const view = SealroomDiagram.render(container, payload, {page: 0, zoom: {x, y, w, h} | null,
//                                                           callouts: [shape, ...], hidden: [i]})
//   view.setZoom({x: .5, y: .2, w: .3, h: .3}); view.setCallouts([...]); view.setZoom(null)
//
// payload is what web.diagrams.diagram_payload returns. Coordinates are fractions (0..1) of
// the page, so zoom is a change of the SVG viewBox and everything stays sharp.
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = {
    red: "#d0021b", yellow: "#f2c200", blue: "#1f5fbf",
    green: "#1d7a35", black: "#111111", white: "#ffffff",
  };
  const TEXT_SIZES = { small: 0.022, medium: 0.032, large: 0.048 }; // of the page height
  const FONT = "DejaVu Sans, Noto Sans, Arial, sans-serif";
  const CHAR_WIDTH = 0.56; // average advance of a character, in font sizes, for wrapping
  const BOX_OPACITY = 0.12; // a box tints what it marks, never hides it

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const key of Object.keys(attrs || {})) node.setAttribute(key, String(attrs[key]));
    if (parent) parent.appendChild(node);
    return node;
  }

  function colour(name) { return COLOURS[name] || COLOURS.red; }
  function contrast(name) { return name === "white" || name === "yellow" ? "#111111" : "#ffffff"; }
  function fraction(v) { return typeof v === "number" && isFinite(v) ? Math.min(1, Math.max(0, v)) : 0; }

  // Lines of at most maxChars characters, breaking at spaces and at the user's line breaks.
  function wrap(text, maxChars) {
    const lines = [];
    for (const paragraph of String(text).split("\n")) {
      let line = "";
      for (const word of paragraph.split(" ")) {
        if (!line) line = word;
        else if ((line + " " + word).length <= maxChars) line += " " + word;
        else { lines.push(line); line = word; }
        while (line.length > maxChars) { lines.push(line.slice(0, maxChars)); line = line.slice(maxChars); }
      }
      lines.push(line);
    }
    return lines;
  }

  // A block of text centred on (cx, cy), fitted into width x height.
  function textBlock(parent, text, cx, cy, width, height, size, fill) {
    let fontSize = size;
    let lines = wrap(text, Math.max(1, Math.floor(width / (fontSize * CHAR_WIDTH))));
    while (lines.length * fontSize * 1.25 > height && fontSize > size / 3) {
      fontSize *= 0.85;
      lines = wrap(text, Math.max(1, Math.floor(width / (fontSize * CHAR_WIDTH))));
    }
    const node = el("text", {
      x: cx, y: cy - ((lines.length - 1) * fontSize * 1.25) / 2,
      "font-size": fontSize, "font-family": FONT, fill: fill,
      "text-anchor": "middle", "dominant-baseline": "middle",
    }, parent);
    lines.forEach(function (line, i) {
      const span = el("tspan", { x: cx, dy: i === 0 ? 0 : fontSize * 1.25 }, node);
      span.textContent = line;
    });
    return node;
  }

  function arrowHead(parent, x1, y1, x2, y2, size, fill) {
    const angle = Math.atan2(y2 - y1, x2 - x1);
    const spread = Math.PI / 7;
    const points = [
      [x2, y2],
      [x2 - size * Math.cos(angle - spread), y2 - size * Math.sin(angle - spread)],
      [x2 - size * Math.cos(angle + spread), y2 - size * Math.sin(angle + spread)],
    ];
    el("polygon", { points: points.map(function (p) { return p.join(","); }).join(" "), fill: fill }, parent);
  }

  // The point where the segment from the rectangle's centre to (px, py) leaves the rectangle.
  function edgePoint(x, y, w, h, px, py) {
    const cx = x + w / 2, cy = y + h / 2, dx = px - cx, dy = py - cy;
    if (dx === 0 && dy === 0) return [cx, cy];
    const t = Math.min(Math.abs(w / 2 / (dx || 1e-9)), Math.abs(h / 2 / (dy || 1e-9)));
    return t >= 1 ? [cx, cy] : [cx + dx * t, cy + dy * t];
  }

  function drawShape(parent, shape, W, H) {
    const c = colour(shape.colour);
    const stroke = Math.max(W, H) * 0.004;
    const g = el("g", { "class": "shape shape-" + shape.type, "data-type": shape.type }, parent);
    const x = fraction(shape.x) * W, y = fraction(shape.y) * H;
    const w = fraction(shape.w) * W, h = fraction(shape.h) * H;
    if (shape.type === "highlight") {
      el("rect", { x: x, y: y, width: w, height: h, fill: c, "fill-opacity": 0.28, stroke: c, "stroke-width": stroke }, g);
    } else if (shape.type === "box") {
      // Translucent: the diagram under a box stays visible (on the court screen too); its text
      // keeps a white halo so it reads over whatever is drawn there.
      el("rect", { x: x, y: y, width: w, height: h, rx: stroke * 2, fill: c, "fill-opacity": BOX_OPACITY, stroke: c, "stroke-width": stroke }, g);
      if (shape.text) {
        const text = textBlock(g, shape.text, x + w / 2, y + h / 2, w * 0.9, h * 0.9, H * TEXT_SIZES.medium, "#111111");
        text.setAttribute("stroke", "#ffffff");
        text.setAttribute("stroke-width", String(stroke * 1.5));
        text.setAttribute("paint-order", "stroke");
      }
    } else if (shape.type === "arrow") {
      const x1 = fraction(shape.x1) * W, y1 = fraction(shape.y1) * H;
      const x2 = fraction(shape.x2) * W, y2 = fraction(shape.y2) * H;
      const head = stroke * 5;
      const length = Math.hypot(x2 - x1, y2 - y1) || 1;
      const shortX = x2 - ((x2 - x1) / length) * head * 0.8, shortY = y2 - ((y2 - y1) / length) * head * 0.8;
      el("line", { x1: x1, y1: y1, x2: shortX, y2: shortY, stroke: c, "stroke-width": stroke * 1.2, "stroke-linecap": "round" }, g);
      arrowHead(g, x1, y1, x2, y2, head, c);
    } else if (shape.type === "callout") {
      const px = fraction(shape.px) * W, py = fraction(shape.py) * H;
      const start = edgePoint(x, y, w, h, px, py);
      el("line", { x1: start[0], y1: start[1], x2: px, y2: py, stroke: c, "stroke-width": stroke }, g);
      el("circle", { cx: px, cy: py, r: stroke * 1.8, fill: c }, g);
      el("rect", { x: x, y: y, width: w, height: h, fill: "#ffffff", "fill-opacity": 0.95, stroke: c, "stroke-width": stroke }, g);
      textBlock(g, shape.text || "", x + w / 2, y + h / 2, w * 0.9, h * 0.9, H * TEXT_SIZES.medium, "#111111");
    } else if (shape.type === "label") {
      const size = H * (TEXT_SIZES[shape.size] || TEXT_SIZES.medium);
      const node = el("text", {
        x: x, y: y, "font-size": size, "font-family": FONT, "font-weight": "bold", fill: c,
        stroke: contrast(shape.colour), "stroke-width": size * 0.12, "paint-order": "stroke",
        "dominant-baseline": "middle",
      }, g);
      String(shape.text || "").split("\n").forEach(function (line, i) {
        const span = el("tspan", { x: x, dy: i === 0 ? 0 : size * 1.2 }, node);
        span.textContent = line;
      });
    }
    return g;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function render(container, payload, options) {
    options = options || {};
    const page = options.page || 0;
    const size = (payload.page_sizes && payload.page_sizes[page]) || [payload.width, payload.height];
    const W = size[0], H = size[1];
    clear(container);
    const svg = el("svg", {
      viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "xMidYMid meet",
      width: "100%", height: "100%", "class": "sealroom-diagram", role: "img",
    });
    svg.setAttribute("aria-label", payload.title || "");
    const url = payload.pages && payload.pages[page];
    if (url) {
      el("image", { href: url, x: 0, y: 0, width: W, height: H, preserveAspectRatio: "none" }, svg);
    } else {
      el("rect", { x: 0, y: 0, width: W, height: H, fill: "#ffffff" }, svg);
    }
    const layers = el("g", { "class": "layers" }, svg);
    const hidden = options.hidden || [];
    (payload.layers || []).forEach(function (layer, index) {
      if (hidden.indexOf(index) >= 0) return;
      const group = el("g", { "class": "layer", "data-layer": layer.id === null ? "original" : layer.id }, layers);
      (layer.shapes || []).forEach(function (shape) {
        if ((shape.page || 0) === page) drawShape(group, shape, W, H);
      });
    });
    const extra = el("g", { "class": "callouts" }, svg);

    function setCallouts(list) {
      clear(extra);
      (list || []).forEach(function (shape) {
        if ((shape.page || 0) === page) drawShape(extra, shape, W, H);
      });
    }

    function setZoom(zoom) {
      const ok = zoom && [zoom.x, zoom.y, zoom.w, zoom.h].every(function (v) {
        return typeof v === "number" && isFinite(v);
      }) && zoom.w > 0 && zoom.h > 0;
      const box = ok
        ? [fraction(zoom.x) * W, fraction(zoom.y) * H, fraction(zoom.w) * W, fraction(zoom.h) * H]
        : [0, 0, W, H];
      svg.setAttribute("viewBox", box.join(" "));
      svg.setAttribute("data-zoomed", ok ? "true" : "false");
    }

    setCallouts(options.callouts);
    setZoom(options.zoom || null);
    container.appendChild(svg);
    return { svg: svg, width: W, height: H, page: page, layers: layers, setZoom: setZoom, setCallouts: setCallouts };
  }

  window.SealroomDiagram = {
    render: render, drawShape: drawShape, el: el, clear: clear, COLOURS: COLOURS,
  };
})();
