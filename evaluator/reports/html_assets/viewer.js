/* atomgenbench report.html: the crystal viewer (Plotly scatter3d: atoms by element, the unit cell). */
"use strict";

const VIEWER = { id: null, sample: 0 };
const CELL_CORNERS = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]];
const CELL_EDGES = [[0, 1], [0, 2], [0, 3], [1, 4], [1, 5], [2, 4], [2, 6], [3, 5], [3, 6], [4, 7], [5, 7], [6, 7]];

function toCartesian(f, lattice) {
  return [0, 1, 2].map((j) => f[0] * lattice[0][j] + f[1] * lattice[1][j] + f[2] * lattice[2][j]);
}

/* copies of an atom on a cell face, edge or corner at the opposite faces (drawn faintly, not counted) */
function boundaryImages(f) {
  const tol = 1e-3;
  const shifts = f.map((x) => (x < tol ? [0, 1] : x > 1 - tol ? [0, -1] : [0]));
  const out = [];
  for (const dx of shifts[0]) for (const dy of shifts[1]) for (const dz of shifts[2]) {
    if (dx || dy || dz) out.push([f[0] + dx, f[1] + dy, f[2] + dz]);
  }
  return out;
}

function crystalTraces(c, colors) {
  const traces = [];
  const cell = { x: [], y: [], z: [] };
  for (const [i, j] of CELL_EDGES) {
    for (const corner of [CELL_CORNERS[i], CELL_CORNERS[j]]) {
      const p = toCartesian(corner, c.lattice);
      cell.x.push(p[0]); cell.y.push(p[1]); cell.z.push(p[2]);
    }
    cell.x.push(null); cell.y.push(null); cell.z.push(null);
  }
  traces.push({ type: "scatter3d", mode: "lines", name: "unit cell", ...cell, hoverinfo: "skip",
    line: { color: "#555", width: 3 }, showlegend: false });
  const bySpecies = {};
  const images = {};
  c.species.forEach((s, i) => {
    (bySpecies[s] = bySpecies[s] || []).push(toCartesian(c.frac[i], c.lattice));
    for (const f of boundaryImages(c.frac[i])) (images[s] = images[s] || []).push(toCartesian(f, c.lattice));
  });
  for (const [s, points] of Object.entries(bySpecies)) {
    const color = colors[s] || "#888";
    traces.push({
      type: "scatter3d", mode: "markers", name: `${s} (${points.length})`, meta: { element: s }, legendgroup: s,
      x: points.map((p) => p[0]), y: points.map((p) => p[1]), z: points.map((p) => p[2]),
      marker: { size: 9, color, line: { color: "#333", width: 1 } },
      hovertemplate: `${s} (%{x:.2f}, %{y:.2f}, %{z:.2f}) Å<extra></extra>`,
    });
    const more = images[s] || [];
    if (more.length) {
      traces.push({
        type: "scatter3d", mode: "markers", name: `${s} images`, meta: { element: s, image: true }, legendgroup: s,
        showlegend: false, x: more.map((p) => p[0]), y: more.map((p) => p[1]), z: more.map((p) => p[2]),
        marker: { size: 6, color, opacity: 0.45 }, hovertemplate: `${s} periodic image<extra></extra>`,
      });
    }
  }
  return traces;
}

function drawCrystal(divId, infoId, c, missing) {
  const info = document.getElementById(infoId);
  const div = document.getElementById(divId);
  if (!c) {
    info.replaceChildren(el("span", { class: "natoms", "data-natoms": "0" }, missing));
    Plotly.purge(div);
    div.replaceChildren();
    return;
  }
  const a = c.abc;
  info.replaceChildren(
    el("b", {}, c.formula), " · ",
    el("span", { class: "natoms", "data-natoms": String(c.species.length) }, `${c.species.length} atoms`), " · ",
    el("span", { class: "lattice" },
      `a ${a[0].toFixed(3)}, b ${a[1].toFixed(3)}, c ${a[2].toFixed(3)} Å; α ${a[3].toFixed(2)}, β ${a[4].toFixed(2)}, γ ${a[5].toFixed(2)}°`),
  );
  const axis = { showbackground: false, title: { text: "" }, showticklabels: false, showgrid: false, zeroline: false };
  Plotly.react(div, crystalTraces(c, bench().viewer.colors), {
    height: 420, margin: { t: 0, r: 0, b: 0, l: 0 }, showlegend: true, legend: { x: 0, y: 1 },
    scene: { aspectmode: "data", xaxis: axis, yaxis: axis, zaxis: axis, camera: { eye: { x: 2.1, y: 0.95, z: 0.75 } } },
  }, PLOT_CONFIG);
}

function samplesOf(id) {
  const b = bench();
  const preds = ((b.viewer || {}).predictions || {})[b.models[state.model].label];
  return preds ? preds[id] || [] : null;
}

function selectCrystal(id) {
  VIEWER.id = id;
  VIEWER.sample = 0;
  for (const tr of document.querySelectorAll("#crystal-table tbody tr")) tr.classList.toggle("selected", tr.dataset.id === id);
  withPlotly(refreshViewer);
}

function stepSample(delta) {
  const samples = samplesOf(VIEWER.id) || [];
  if (!samples.length) return;
  VIEWER.sample = (VIEWER.sample + delta + samples.length) % samples.length;
  withPlotly(refreshViewer);
}

function refreshViewer() {
  const id = VIEWER.id;
  if (id === null) return;
  const b = bench();
  const model = b.models[state.model];
  const row = rowObjects(model).find((r) => r.id === id) || {};
  const samples = samplesOf(id);
  const k = samples ? Math.max(samples.length, 1) : 1;
  VIEWER.sample = Math.min(VIEWER.sample, k - 1);
  document.getElementById("viewer-title").textContent = `${id} · ${model.label}`;
  const runK = (((model.metrics.samples || {}).match_at_k) || {}).k || k;
  document.getElementById("sample-info").textContent =
    `sample ${VIEWER.sample + 1} of ${k}${runK > k ? ` (the first ${k} of the run's ${runK})` : ""}`;
  const status = VIEWER.sample > 0 ? "" : row.rms ? `matched, RMS ${fmt(num(row.rms))}` : row.parsed === "True" ? "not matched" : `failed: ${row.reason || "no prediction"}`;
  document.getElementById("viewer-row").textContent = status;
  drawCrystal("view-target", "view-target-info", (b.viewer.targets || {})[id], "target not available");
  let missing = "prediction structures not embedded (give the predictions to the report)";
  let pred = null;
  if (samples) {
    pred = samples[VIEWER.sample] || null;
    missing = VIEWER.sample === 0 && row.reason ? `no structure: ${row.reason}` : "no parsable structure for this sample";
  }
  drawCrystal("view-pred", "view-pred-info", pred, missing);
}
