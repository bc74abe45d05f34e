/* atomgenbench report.html: leaderboard, figures and the per-crystal table, all drawn from the
   embedded data (metrics.json documents and rows.csv tables, verbatim). No network access. */
"use strict";

const DATA = JSON.parse(document.getElementById("report-data").textContent);
const PLOT_CONFIG = { displaylogo: false, responsive: true };
const PAGE_SIZE = 50;
const state = {
  bench: 0, published: false, lbSort: null, lbDir: 1,
  model: 0, status: "all", stratum: "all", text: "", sortKey: null, sortDir: 1, page: 0,
  histParam: "a", stratumMetric: "match_rate",
};

/* ---------------------------------------------------------------- helpers */

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function bench() { return DATA.benchmarks[state.bench]; }

/* Plotly is embedded as text and run on first use, after the tables are drawn: the page is usable
   before its largest script is compiled. `withPlotly(fn)` runs fn once Plotly is there. */
let plotlyLoaded = false;
function withPlotly(fn) {
  if (!plotlyLoaded) {
    const script = document.createElement("script");
    script.textContent = document.getElementById("plotly-source").textContent;
    document.head.append(script); /* an inline script runs as soon as it is inserted */
    plotlyLoaded = true;
  }
  return fn();
}

/* the number of metric `name` in a metrics.json document (as atomgenbench.evaluator.metrics.lookup) */
function lookup(doc, name) {
  let node = doc;
  for (const part of name.split(".")) {
    if (node === null || typeof node !== "object" || !(part in node)) return null;
    node = node[part];
  }
  if (node !== null && typeof node === "object") node = node.value;
  return typeof node === "number" ? node : null;
}

function entry(doc, name) {
  let node = doc;
  for (const part of name.split(".")) node = node && typeof node === "object" ? node[part] : undefined;
  return node && typeof node === "object" ? node : {};
}

function ciOf(doc, name) {
  const ci = name === "rmse.match_rate" ? (doc.rmse || {}).match_rate_ci95 : entry(doc, name).ci95;
  return Array.isArray(ci) && ci[0] !== null && ci[1] !== null ? ci : null;
}

function fmt(v, digits) {
  if (v === null || v === undefined || v === "" || Number.isNaN(v)) return "–";
  return Number(v).toFixed(digits === undefined ? 4 : digits);
}

/* the value of leaderboard column `col` for a row {label, doc, published} */
function columnValue(row, col) {
  const doc = row.doc;
  if (col.name.startsWith("@pearson.")) {
    const special = DATA.specialized;
    const column = special && !row.published ? ((special.by_benchmark || {})[bench().name] || {})[col.name.slice(9)] : null;
    const value = column ? ((special.values || {})[row.label] || {})[column] : null;
    return typeof value === "number" ? value : null;
  }
  if (col.name === "@leaderboard_env") {
    const lb = (doc.leaderboard_env || {}).leaderboard;
    return lb && typeof lb.value === "number" ? lb.value : null;
  }
  return lookup(doc, col.name);
}

/* rows.csv of one model as objects keyed by its header (string cells, as in the file) */
function rowObjects(model) {
  const h = model.rows_header;
  return model.rows.map((cells) => Object.fromEntries(h.map((k, i) => [k, cells[i]])));
}

function num(cell) {
  return cell === undefined || cell === "" ? null : Number(cell);
}

/* ---------------------------------------------------------------- leaderboard */

function leaderboardRows() {
  const b = bench();
  const rows = b.models.map((m) => ({ label: m.label, doc: m.metrics, published: false }));
  const pub = (b.comparison || {}).published || [];
  if (state.published) {
    for (const p of pub) {
      const doc = { rmse: { value: p.rmse, match_rate: p.match_rate, n_matched: p.n_matched, n_total: p.n_total } };
      rows.push({ label: `${p.contribution} (published)`, doc, published: true, source: p.environment });
    }
  }
  return rows;
}

function visibleColumns(rows) {
  if (bench().kind === "float") {
    return [{ name: "mae", short: "MAE (leaderboard)", direction: "lower",
      tooltip: `mean absolute error over ${(rows[0].doc.mae || {}).denominator || "scored ids"}` }];
  }
  return DATA.columns.filter((c) => rows.some((r) => !r.published && columnValue(r, c) !== null));
}

function bestValues(rows, cols) {
  const best = {};
  for (const c of cols) {
    const vals = rows.filter((r) => !r.published).map((r) => columnValue(r, c)).filter((v) => v !== null);
    if (vals.length) best[c.name] = c.direction === "higher" ? Math.max(...vals) : Math.min(...vals);
  }
  return best;
}

function lbCell(row, col, best) {
  const v = columnValue(row, col);
  const fraction = col.unit === "fraction";
  const td = el("td", { "data-value": v === null ? "" : String(v) }, fmt(v, col.unit === "r" ? 2 : fraction ? 3 : 4));
  if (col.name === "rmse.match_rate" && row.doc.rmse && row.doc.rmse.n_total) {
    td.append(el("span", { class: "ci" }, `${row.doc.rmse.n_matched}/${row.doc.rmse.n_total}`));
  }
  const ci = row.published ? null : ciOf(row.doc, col.name);
  if (ci) td.append(el("span", { class: "ci" }, `[${fmt(ci[0], fraction ? 3 : 4)}, ${fmt(ci[1], fraction ? 3 : 4)}]`));
  if (!row.published && v !== null && best[col.name] === v) {
    td.classList.add("best");
    td.prepend("★ ");
    td.title = `best (${col.direction} is better)`;
  }
  return td;
}

function renderLeaderboard() {
  const rows = leaderboardRows();
  const cols = visibleColumns(rows);
  const best = bestValues(rows, cols);
  if (state.lbSort !== null) {
    const col = cols.find((c) => c.name === state.lbSort);
    const key = (r) => (col ? columnValue(r, col) : r.label);
    rows.sort((x, y) => compare(key(x), key(y), state.lbDir));
  }
  const head = el("tr", {}, header("model", "model (label of the result folder)", "@model"));
  for (const c of cols) head.append(header(c.short, c.tooltip, c.name));
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr", { class: r.published ? "published" : null, title: r.source || null },
      el("td", { class: "text" }, r.label));
    for (const c of cols) tr.append(lbCell(r, c, best));
    body.append(tr);
  }
  const table = document.getElementById("lb-table");
  table.replaceChildren(el("thead", {}, head), body);
  const pub = (bench().comparison || {}).published || [];
  document.getElementById("published-toggle").style.display = pub.length ? "" : "none";
  document.getElementById("lb-note").textContent = pub.length && state.published
    ? `Published rows: ${pub[0].source}; ${pub[0].environment}. They give the RMSE and match rate only.`
    : "";

  function header(text, tip, key) {
    const th = el("th", { title: tip, "data-key": key }, text);
    if (state.lbSort === key) th.setAttribute("aria-sort", state.lbDir > 0 ? "ascending" : "descending");
    th.addEventListener("click", () => {
      state.lbDir = state.lbSort === key ? -state.lbDir : 1;
      state.lbSort = key;
      renderLeaderboard();
    });
    return th;
  }
}

/* null and "" last whatever the direction; numbers numerically, text alphabetically */
function compare(a, b, dir) {
  const na = a === null || a === undefined || a === "";
  const nb = b === null || b === undefined || b === "";
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return (a - b) * dir;
  return String(a).localeCompare(String(b), undefined, { numeric: true }) * dir;
}

/* ---------------------------------------------------------------- per-crystal table */

const CRYSTAL_COLUMNS = [
  ["id", "id", "test id of the benchmark"],
  ["formula", "formula", "reduced formula of the target"],
  ["system_target", "target system", "crystal system of the target (rows.csv crystal_system)"],
  ["system_pred", "predicted system", "crystal system of the prediction (rows.csv crystal_system_pred)"],
  ["matched", "matched", "StructureMatcher found a match (rows.csv rms is set)"],
  ["rms", "RMS", "get_rms_dist of the match, normalised by (V/N)^(1/3) (rows.csv rms)"],
  ["amd", "ccRMSD d (Å)", "L∞ distance of the AMD vectors of prediction and target (rows.csv amd_distance)"],
  ["valid", "valid", "structurally and compositionally valid prediction (rows.csv valid_structural, valid_composition)"],
  ["stratum", "stratum", "leakage stratum of the test crystal (twin, seen-formula, unseen)"],
  ["atoms", "atoms t/p", "atoms in the target / the prediction (rows.csv n_atoms_target, n_atoms_pred)"],
  ["note", "failure or note", "why the prediction failed, did not match or is invalid (rows.csv reason and notes)"],
];

function crystalRows() {
  const b = bench();
  const model = b.models[state.model];
  const targets = (b.viewer || {}).targets || {};
  return rowObjects(model).map((r) => {
    const parsed = r.parsed === "True";
    const matched = r.rms !== undefined && r.rms !== "";
    const notes = [r.reason, r.match_note, r.validity_note, r.metric_note].filter((x) => x);
    return {
      id: r.id,
      formula: targets[r.id] ? targets[r.id].formula : "",
      system_target: r.crystal_system || "",
      system_pred: r.crystal_system_pred || "",
      matched: matched ? "yes" : "no",
      rms: num(r.rms),
      amd: num(r.amd_distance),
      valid: !parsed ? "no" : r.valid_structural === "True" && r.valid_composition === "True" ? "yes" : "no",
      stratum: r.stratum || (b.strata ? b.strata[r.id] || "unknown" : ""),
      atoms: `${r.n_atoms_target || "–"}/${r.n_atoms_pred || "–"}`,
      note: notes.join("; "),
      status: !parsed ? "failed" : matched ? "matched" : "unmatched",
    };
  });
}

function filteredCrystals() {
  const text = state.text.trim().toLowerCase();
  let rows = crystalRows().filter((r) =>
    (state.status === "all" || r.status === state.status) &&
    (state.stratum === "all" || r.stratum === state.stratum) &&
    (!text || [r.id, r.formula, r.system_target, r.system_pred, r.note, r.stratum].some((x) => x.toLowerCase().includes(text))));
  if (state.sortKey) rows = rows.sort((x, y) => compare(x[state.sortKey], y[state.sortKey], state.sortDir));
  return rows;
}

function renderCrystals() {
  const all = crystalRows();
  const rows = filteredCrystals();
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const head = el("tr");
  for (const [key, text, tip] of CRYSTAL_COLUMNS) {
    const th = el("th", { title: tip, "data-key": key }, text);
    if (state.sortKey === key) th.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending");
    th.addEventListener("click", () => {
      state.sortDir = state.sortKey === key ? -state.sortDir : 1;
      state.sortKey = key;
      renderCrystals();
    });
    head.append(th);
  }
  const body = el("tbody");
  for (const r of rows.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE)) {
    const tr = el("tr", { "data-id": r.id, class: r.id === VIEWER.id ? "selected" : null,
      onclick: () => selectCrystal(r.id) });
    for (const [key] of CRYSTAL_COLUMNS) {
      const v = r[key];
      const cls = key === "matched" || key === "valid" ? v : typeof v === "number" || key === "atoms" ? null : "text";
      tr.append(el("td", { class: cls }, typeof v === "number" ? fmt(v) : v === null ? "–" : v));
    }
    body.append(tr);
  }
  document.getElementById("crystal-table").replaceChildren(el("thead", {}, head), body);
  const count = document.getElementById("crystal-count");
  count.dataset.count = String(rows.length);
  count.textContent = `${rows.length} of ${all.length} crystals`;
  document.getElementById("page-info").textContent = `page ${state.page + 1} of ${pages}`;
}

function setupCrystalControls() {
  const b = bench();
  const models = document.getElementById("crystal-model");
  models.replaceChildren(...b.models.map((m, i) => el("option", { value: String(i) }, m.label)));
  models.value = String(state.model);
  const strata = [...new Set(crystalRows().map((r) => r.stratum).filter((s) => s))];
  document.getElementById("filter-stratum").replaceChildren(el("option", { value: "all" }, "all"),
    ...strata.map((s) => el("option", { value: s }, s)));
}

function bindControls() {
  const on = (id, ev, fn) => document.getElementById(id).addEventListener(ev, fn);
  on("show-published", "change", (e) => { state.published = e.target.checked; renderLeaderboard(); });
  on("crystal-model", "change", (e) => { state.model = Number(e.target.value); state.page = 0; renderCrystals(); withPlotly(refreshViewer); });
  on("filter-status", "change", (e) => { state.status = e.target.value; state.page = 0; renderCrystals(); });
  on("filter-stratum", "change", (e) => { state.stratum = e.target.value; state.page = 0; renderCrystals(); });
  on("filter-text", "input", (e) => { state.text = e.target.value; state.page = 0; renderCrystals(); });
  on("page-prev", "click", () => { state.page = Math.max(0, state.page - 1); renderCrystals(); });
  on("page-next", "click", () => { state.page += 1; renderCrystals(); });
  on("bench-select", "change", (e) => { state.bench = Number(e.target.value); resetBenchmark(); });
  on("stratum-metric", "change", (e) => { state.stratumMetric = e.target.value; withPlotly(drawStrata); });
  on("sample-prev", "click", () => stepSample(-1));
  on("sample-next", "click", () => stepSample(1));
}

/* ---------------------------------------------------------------- settings and versions */

function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === undefined) continue;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = Array.isArray(v) ? JSON.stringify(v) : String(v);
  }
  return out;
}

function renderSettings() {
  const models = bench().models;
  const per = models.map((m) => ({
    ...flatten({ source: m.source || m.folder, model: m.metrics.model }, "", {}),
    ...flatten(m.metrics.settings, "settings", {}),
    ...flatten(m.metrics.versions, "versions", {}),
  }));
  const keys = [...new Set(per.flatMap((p) => Object.keys(p)))];
  const head = el("tr", {}, el("th", {}, "setting"), ...models.map((m) => el("th", {}, m.label)));
  const body = el("tbody");
  for (const k of keys) {
    const cells = per.map((p) => p[k] ?? "–");
    const same = cells.every((c) => c === cells[0]) && cells.length > 1;
    body.append(el("tr", {}, el("td", {}, k), ...(same
      ? [el("td", { class: "text", colspan: String(cells.length) }, `${cells[0]} (all models)`)]
      : cells.map((c) => el("td", { class: "text" }, c)))));
  }
  const g = DATA.generated;
  body.append(el("tr", {}, el("td", {}, "page written by"),
    el("td", { class: "text", colspan: String(models.length) }, `atomgenbench ${g.atomgenbench}, ${g.utc}`)));
  document.getElementById("settings-table").replaceChildren(el("thead", {}, head), body);
}

/* ---------------------------------------------------------------- start */

function resetBenchmark() {
  Object.assign(state, { lbSort: null, model: 0, status: "all", stratum: "all", text: "", sortKey: null, page: 0 });
  document.getElementById("filter-status").value = "all";
  document.getElementById("filter-text").value = "";
  VIEWER.id = null;
  setupCrystalControls();
  renderLeaderboard();
  renderCrystals();
  renderSettings();
  const crystals = bench().kind === "structure";
  for (const id of ["crystals", "viewer", "figures"]) document.getElementById(id).style.display = crystals ? "" : "none";
  window.__reportReady = performance.now();
  window.__figuresReady = null;
  const finish = () => { window.__figuresReady = performance.now(); };
  setTimeout(() => withPlotly(() => (crystals ? drawFigures(finish) : (drawSpecial(), finish()))), 0);
  whenVisible("viewer", () => {
    const first = document.querySelector("#crystal-table tbody tr");
    if (first && crystals && VIEWER.id === null) selectCrystal(first.dataset.id);
  });
}

/* run `fn` once when the section `id` first scrolls into view (the 3-D scenes are costly to draw) */
function whenVisible(id, fn) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); fn(); }
  });
  observer.observe(document.getElementById(id));
}

function start() {
  const select = document.getElementById("bench-select");
  select.replaceChildren(...DATA.benchmarks.map((b, i) => el("option", { value: String(i) }, b.name)));
  document.getElementById("generated").textContent =
    `written by atomgenbench ${DATA.generated.atomgenbench} on ${DATA.generated.utc} from ${DATA.generated.from.join(", ")}`;
  const metricSelect = document.getElementById("stratum-metric");
  metricSelect.replaceChildren(...Object.values(DATA.stratum_metrics).map((m) =>
    el("option", { value: m.key, title: m.tooltip }, m.label)));
  bindControls();
  resetBenchmark();
}

start();
