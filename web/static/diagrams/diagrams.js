// The diagram page: the picture with its layers; layers can be hidden and pages chosen.
(function () {
  "use strict";
  const stage = document.getElementById("diagram-stage");
  const source = document.getElementById("diagram-data");
  if (!stage || !source || !window.SealroomDiagram) return;
  const payload = JSON.parse(source.textContent);
  let page = 0;

  function hiddenLayers() {
    const hidden = [];
    document.querySelectorAll("input[data-layer-index]").forEach(function (box) {
      if (!box.checked) hidden.push(Number(box.dataset.layerIndex));
    });
    return hidden;
  }

  function draw() {
    window.SealroomDiagram.render(stage, payload, { page: page, hidden: hiddenLayers() });
    stage.dataset.page = String(page);
    const label = document.getElementById("page-label");
    if (label) label.textContent = String(page + 1) + " / " + String(Math.max(1, payload.pages.length));
  }

  document.querySelectorAll("input[data-layer-index]").forEach(function (box) {
    box.addEventListener("change", draw);
  });
  const previous = document.getElementById("page-previous");
  const next = document.getElementById("page-next");
  if (previous) previous.addEventListener("click", function () { if (page > 0) { page -= 1; draw(); } });
  if (next) next.addEventListener("click", function () {
    if (page < payload.pages.length - 1) { page += 1; draw(); }
  });
  draw();
})();
