/* atomgenbench report.html: the Plotly figures, drawn from the embedded metrics.json and rows.csv. */
"use strict";

const HIST_COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/* each figure in its own task, so that clicks are handled between them; `done` after the last */
function drawFigures(done) {
  const steps = [() => { drawHistogramButtons(); drawHistograms(); }, drawMatchAtK, drawStrata, drawConfusion, drawSpecial];
  const next = () => {
    const step = steps.shift();
    if (!step) return done();
    step();
    setTimeout(next, 0);
  };
  next();
}

function drawHistogramButtons() {
  const box = document.getElementById("hist-buttons");
  box.replaceChildren(...DATA.lattice_params.map((p) => {
    const b = el("button", { type: "button", class: p === state.histParam ? "on" : null, "data-param": p }, DATA.symbols[p]);
    b.addEventListener("click", () => { state.histParam = p; drawHistogramButtons(); drawHistograms(); });
    return b;
  }));
}

/* counts of `values` in bins of width `step` from `start` (values beyond `limit` bins clipped into the edge bins) */
function binCounts(values, start, step, nbins) {
  const counts = new Array(nbins).fill(0);
  for (const v of values) counts[Math.min(nbins - 1, Math.max(0, Math.floor((v - start) / step)))] += 1;
  return counts;
}

function drawHistograms() {
  const p = state.histParam;
  const models = bench().models;
  const column = (m, side) => rowObjects(m).filter((r) => side === "target" || r.parsed === "True")
    .map((r) => num(r[`niggli_${side}_${p}`])).filter((v) => v !== null && Number.isFinite(v));
  const target = column(models[0], "target");
  const preds = models.map((m) => column(m, "pred"));
  const lo = Math.min(...target);
  const hi = Math.max(...target);
  const bins = Number((models[0].metrics.settings || {}).kld_bins) || 20;
  const step = hi > lo ? (hi - lo) / bins : 1;
  /* the target range, widened by whole bins to every prediction, at most 3x the target bins each side */
  const all = preds.flat();
  const below = Math.min(bins * 3, Math.max(0, Math.ceil((lo - Math.min(lo, ...all)) / step)));
  const above = Math.min(bins * 3, Math.max(0, Math.ceil((Math.max(hi, ...all) - hi) / step)));
  const start = lo - below * step;
  const nbins = below + bins + above + 1;
  const centers = Array.from({ length: nbins }, (_, i) => start + (i + 0.5) * step);
  const traces = [{ type: "bar", x: centers, y: binCounts(target, start, step, nbins), width: step,
    name: `targets (${target.length})`, marker: { color: "rgba(31,119,180,0.35)", line: { color: "#1f77b4", width: 1 } },
    hovertemplate: "%{x:.3f}: %{y}<extra>targets</extra>" }];
  models.forEach((m, i) => {
    const kld = lookup(m.metrics, `kld.${p}`);
    traces.push({ type: "scatter", mode: "lines", x: centers, y: binCounts(preds[i], start, step, nbins),
      line: { shape: "hvh", width: 2.2, color: HIST_COLORS[i % HIST_COLORS.length] },
      name: `${m.label} (${preds[i].length}${kld === null ? "" : `, KLD ${fmt(kld, 3)} nats`})`,
      hovertemplate: `%{x:.3f}: %{y}<extra>${m.label}</extra>` });
  });
  const unit = ["alpha", "beta", "gamma"].includes(p) ? "°" : "Å";
  Plotly.react("fig-hist", traces, {
    height: 340, margin: { t: 10, r: 10, b: 45, l: 50 }, bargap: 0,
    xaxis: { title: { text: `Niggli ${DATA.symbols[p]} (${unit}); bins of the target range, edge bins hold the far values` } },
    yaxis: { title: { text: "crystals" } }, legend: { orientation: "h", y: 1.12 },
  }, PLOT_CONFIG);
}

function drawMatchAtK() {
  const traces = [];
  for (const m of bench().models) {
    const curve = ((m.metrics.samples || {}).match_at_k || {}).curve;
    if (!curve) continue;
    const ks = Object.keys(curve).map(Number).sort((a, b) => a - b);
    traces.push({ type: "scatter", mode: "lines+markers", name: m.label, x: ks, y: ks.map((k) => curve[String(k)]) });
  }
  const layout = { height: 300, margin: { t: 30, r: 10, b: 45, l: 55 }, legend: { orientation: "h", y: 1.14 }, yaxis: { range: [0, 1.02], title: { text: "match@k (all test ids)" } },
    xaxis: { title: { text: "k (samples per test crystal)" }, dtick: 1 } };
  if (!traces.length) {
    for (const m of bench().models) {
      const r = m.metrics.rmse || {};
      traces.push({ type: "scatter", mode: "markers", name: m.label, x: [1], y: [r.match_rate] });
    }
    layout.annotations = [{ text: "one sample per id: match@1 is the match rate", showarrow: false, x: 0.5, y: 0.95,
      xref: "paper", yref: "paper", font: { size: 11, color: "#5d6878" } }];
  }
  Plotly.react("fig-matchk", traces, layout, PLOT_CONFIG);
}

function drawStrata() {
  const key = state.stratumMetric;
  const meta = DATA.stratum_metrics[key];
  const traces = bench().models.map((m) => {
    const groups = m.metrics.by_stratum || {};
    const names = Object.keys(groups);
    return { type: "bar", name: m.label, x: names, y: names.map((s) => lookup(groups[s], key)),
      customdata: names.map((s) => [groups[s].n, groups[s].n_matched]),
      hovertemplate: `%{x}: %{y:.4f} (n %{customdata[0]}, matched %{customdata[1]})<extra>${m.label}</extra>` };
  });
  Plotly.react("fig-strata", traces, {
    barmode: "group", height: 300, margin: { t: 30, r: 10, b: 45, l: 55 }, legend: { orientation: "h", y: 1.14 },
    yaxis: { title: { text: meta ? `${meta.label} (${meta.unit.split(" (")[0]})` : key } },
  }, PLOT_CONFIG);
}

function drawConfusion() {
  const box = document.getElementById("fig-confusion");
  box.replaceChildren();
  const models = bench().models.filter((m) => m.metrics.crystal_system_confusion);
  const divs = models.map(() => el("div"));
  box.append(...divs); /* every panel in place before drawing: each is drawn at its final width */
  models.forEach((m, i) => {
    const table = m.metrics.crystal_system_confusion;
    const agree = lookup(m.metrics, "symmetry.crystal_system");
    Plotly.newPlot(divs[i], [{
      type: "heatmap", z: table.matrix, x: table.systems, y: table.systems, colorscale: "Blues", reversescale: true, showscale: false,
      texttemplate: "%{z}", hovertemplate: "target %{y}, prediction %{x}: %{z}<extra></extra>",
    }], {
      title: { text: `${m.label}: same crystal system ${fmt(agree, 3)} (n ${table.n})`, font: { size: 13 } },
      margin: { t: 50, r: 10, b: 80, l: 90 }, yaxis: { autorange: "reversed", title: { text: "target" } },
      xaxis: { title: { text: "prediction" } },
    }, { ...PLOT_CONFIG, displayModeBar: false });
  });
}

/* the leaderboard's Special/AtomGenBench heatmap: Pearson r per model and lattice file */
function drawSpecial() {
  const note = document.getElementById("special-note");
  const section = document.getElementById("special");
  const special = DATA.specialized;
  if (!special || !special.models || !special.models.length) {
    section.style.display = "none";
    return;
  }
  section.style.display = "";
  note.textContent = special.note;
  const z = special.models.map((m) => special.files.map((f) => special.values[m][f]));
  Plotly.react("fig-special", [{
    type: "heatmap", z, x: special.files, y: special.models, colorscale: "Viridis", zmin: special.zmin, zmax: 1,
    texttemplate: "%{z:.2f}", hovertemplate: "%{y}, %{x}: r = %{z:.2f}<extra></extra>",
  }], {
    height: 170 + 40 * special.models.length, margin: { t: 10, r: 10, b: 130, l: 150 },
    yaxis: { autorange: "reversed" }, xaxis: { tickangle: -30 },
  }, { ...PLOT_CONFIG, displayModeBar: false });
}
