// The diagram editor: draw boxes, highlights, arrows, labels and callouts on a blank canvas
// (a new drawing) or over an uploaded diagram (one annotation layer), then save as JSON.
// The server checks every shape again; this page only helps to make them.
(function () {
  "use strict";
  const D = window.SealroomDiagram;
  const stage = document.getElementById("editor-stage");
  const source = document.getElementById("editor-data");
  if (!D || !stage || !source) return;
  const editor = JSON.parse(source.textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  const status = document.getElementById("editor-status");
  const textInput = document.getElementById("shape-text");
  const colourInput = document.getElementById("shape-colour");
  const sizeInput = document.getElementById("shape-size");
  const shapes = (editor.layer.shapes || []).slice();
  const MIN_EXTENT = 0.005;
  const CLICK_BOX = { w: 0.16, h: 0.09 };
  const CALLOUT_BOX = { w: 0.24, h: 0.1 };
  let tool = "box";
  let page = 0;
  let view = null;
  let editing = null;
  let preview = null;
  let start = null;

  function say(message, bad) {
    status.textContent = message;
    status.classList.toggle("bad", !!bad);
  }

  function round(v) { return Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000; }

  function toFraction(event) {
    const matrix = view.svg.getScreenCTM();
    if (!matrix) return null;
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return { x: round(point.x / view.width), y: round(point.y / view.height) };
  }

  function redrawEditing() {
    D.clear(editing);
    shapes.forEach(function (shape, index) {
      if ((shape.page || 0) !== page) return;
      const node = D.drawShape(editing, shape, view.width, view.height);
      node.setAttribute("data-index", String(index));
    });
    document.getElementById("shape-count").textContent = String(shapes.length);
  }

  function draw() {
    view = D.render(stage, editor.diagram, { page: page });
    view.layers.setAttribute("class", "layers other-layers");
    editing = D.el("g", { "class": "editing" }, view.svg);
    preview = D.el("g", { "class": "preview" }, view.svg);
    redrawEditing();
  }

  function rectBetween(a, b) {
    return {
      x: Math.min(a.x, b.x), y: Math.min(a.y, b.y),
      w: round(Math.abs(a.x - b.x)), h: round(Math.abs(a.y - b.y)),
    };
  }

  function boxAround(point, size) {
    return {
      x: round(Math.min(Math.max(0, point.x - size.w / 2), 1 - size.w)),
      y: round(Math.min(Math.max(0, point.y - size.h / 2), 1 - size.h)),
      w: size.w, h: size.h,
    };
  }

  function text() { return textInput.value.trim(); }

  // The shape a drag from a to b makes with the current tool, or a message why none.
  function shapeFor(a, b) {
    const base = { page: page, colour: colourInput.value };
    const dragged = Math.abs(a.x - b.x) > MIN_EXTENT || Math.abs(a.y - b.y) > MIN_EXTENT;
    if (tool === "box" || tool === "highlight") {
      const r = dragged ? rectBetween(a, b) : boxAround(b, CLICK_BOX);
      if (r.w <= 0 || r.h <= 0) return null;
      const shape = Object.assign({ type: tool }, base, r);
      if (tool === "box") shape.text = text();
      return shape;
    }
    if (tool === "arrow") {
      if (!dragged) return null;
      return Object.assign({ type: "arrow", x1: a.x, y1: a.y, x2: b.x, y2: b.y }, base);
    }
    if (tool === "label") {
      if (!text()) return document.getElementById("need-text").textContent;
      return Object.assign({ type: "label", x: b.x, y: b.y, text: text(), size: sizeInput.value }, base);
    }
    if (tool === "callout") {
      if (!text()) return document.getElementById("need-text").textContent;
      const box = boxAround(dragged ? b : { x: a.x + 0.15, y: a.y - 0.12 }, CALLOUT_BOX);
      return Object.assign({ type: "callout", px: a.x, py: a.y, text: text() }, base, box);
    }
    return null;
  }

  function chooseTool(name) {
    tool = name;
    document.querySelectorAll("[data-tool]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.dataset.tool === name ? "true" : "false");
    });
    stage.dataset.tool = name;
  }

  stage.addEventListener("pointerdown", function (event) {
    if (event.button !== 0 || !view) return;
    if (tool === "erase") {
      const hit = event.target.closest && event.target.closest("[data-index]");
      if (hit) {
        shapes.splice(Number(hit.getAttribute("data-index")), 1);
        redrawEditing();
      }
      return;
    }
    start = toFraction(event);
    if (start) stage.setPointerCapture(event.pointerId);
    event.preventDefault();
  });

  stage.addEventListener("pointermove", function (event) {
    if (!start) return;
    const here = toFraction(event);
    D.clear(preview);
    const shape = here && shapeFor(start, here);
    if (shape && typeof shape === "object") D.drawShape(preview, shape, view.width, view.height);
  });

  stage.addEventListener("pointerup", function (event) {
    if (!start) return;
    const here = toFraction(event) || start;
    const shape = shapeFor(start, here);
    start = null;
    D.clear(preview);
    if (typeof shape === "string") { say(shape, true); return; }
    if (!shape) return;
    if (shapes.length >= editor.max_shapes) {
      say(document.getElementById("too-many").textContent, true);
      return;
    }
    shapes.push(shape);
    say("");
    redrawEditing();
  });

  document.querySelectorAll("[data-tool]").forEach(function (button) {
    button.addEventListener("click", function () { chooseTool(button.dataset.tool); });
  });
  document.getElementById("undo").addEventListener("click", function () {
    shapes.pop();
    redrawEditing();
  });

  const pageSelect = document.getElementById("editor-page");
  if (pageSelect) pageSelect.addEventListener("change", function () {
    page = Number(pageSelect.value) || 0;
    draw();
  });

  async function save() {
    const body = { shapes: shapes };
    if (editor.mode === "drawing") body.title = document.getElementById("drawing-title").value;
    else body.name = document.getElementById("layer-name").value;
    say(document.getElementById("saving").textContent);
    let response;
    try {
      response = await fetch(editor.save, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
      });
    } catch (error) {
      say(String(error), true);
      return;
    }
    let answer = {};
    try { answer = await response.json(); } catch (error) { answer = {}; }
    if (!response.ok) {
      const problems = (answer.problems || []).join("; ");
      say((answer.message || answer.error || "HTTP " + response.status) + (problems ? " — " + problems : ""), true);
      return;
    }
    window.location.assign(answer.url);
  }

  document.getElementById("save").addEventListener("click", save);
  chooseTool("box");
  draw();
  stage.dataset.ready = "true";
})();
