// F2 tab, cluster view and ward dashboard.
import { getJson, postJson } from "./api.js";
import { busy, state, wardName } from "./app.js";
import { barChart, graph, hhmm } from "./charts.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.append(c);
    else td.textContent = c;
    tr.append(td);
  }
  return tr;
}

export function showF2(candidates) {
  $("f2-empty").textContent = candidates.length ? "" : t("no_f2");
  $("f2").querySelector("tbody").replaceChildren(
    ...candidates.map((c) => row([c.person, wardName(c.home_ward), c.priority, c.via,
      Number(c.score).toLocaleString(undefined, { maximumFractionDigits: 2 }),
      `${c.first_exposure.slice(0, 10)} ${hhmm(c.first_exposure)}`])),
  );
}

export async function initViews() {
  const select = $("dash-ward");
  select.replaceChildren();
  for (const [code, name] of Object.entries(state.me.wards)) {
    select.append(new Option(`${code}. ${name}`, code));
  }
  select.value = String(state.me.ward || 1);
}

// ------------------------------------------------------------ clusters

function clusterGraph(doc) {
  const nodes = new Map();
  const edges = [];
  const add = (id, size) => {
    if (nodes.has(id)) return;
    const [kind, key] = [id.slice(0, id.indexOf(":")), id.slice(id.indexOf(":") + 1)];
    const label = kind === "venue" ? `#${key}` : kind === "case" ? key : kind === "contact" ? "F1" : `${size} F1`;
    nodes.set(id, { id, kind: kind === "contact" ? "contacts" : kind, label, size: size || 1 });
  };
  for (const comp of doc.components) {
    for (const [a, b, size] of comp.links || []) {
      add(String(a));
      add(String(b), size);
      edges.push([String(a), String(b)]);
    }
  }
  return { nodes: [...nodes.values()], edges };
}

async function runClusters() {
  const doc = await busy(t("loading"), () => postJson("/v1/clusters", { purpose: "web clusters" }));
  if (!doc) return;
  const { nodes, edges } = clusterGraph(doc);
  $("graph").replaceChildren(nodes.length ? graph(nodes, edges, t("tab_clusters")) : t("no_case"));
  $("hot-spots").querySelector("tbody").replaceChildren(
    ...doc.hot_spots.map((h) => row([`#${h.venue}`, h.cases,
      new Date((h.from + 7 * 3600) * 1000).toISOString().slice(0, 16).replace("T", " ")])),
  );
  $("sources").querySelector("tbody").replaceChildren(
    ...doc.likely_sources.map((s) => row([`#${s.venue}`, s.cases])),
  );
}

// ------------------------------------------------------------ dashboard

function figures(target, pairs) {
  $(target).replaceChildren(...pairs.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    dt.textContent = t(k);
    const dd = document.createElement("dd");
    dd.textContent = v;
    dd.dataset.key = k;
    return [dt, dd];
  }));
}

export async function showDashboard() {
  const ward = Number($("dash-ward").value);
  await busy(t("loading"), async () => {
    const zones = await getJson("/web/api/zones");
    const [follow, venues] = await Promise.all([
      getJson("/v1/reports/follow-up", { ward }),
      getJson("/v1/reports/venues", { ward }),
    ]);
    const f = follow.wards.find((w) => w.ward === ward) || { f0: 0, f1: 0, f1_updated: 0, updated_share: 0 };
    figures("follow-up-figures", [["f0_count", f.f0], ["f1_count", f.f1], ["f1_updated", f.f1_updated],
      ["updated_share", `${(f.updated_share * 100).toFixed(2)} %`]]);
    const mine = zones.wards.find((w) => w.ward === ward);
    figures("venue-figures", [["venues_registered", venues.registered.toLocaleString()],
      ["venues_active", venues.active.toLocaleString()],
      ["venues_scanned", (mine?.venues_scanned ?? 0).toLocaleString()]]);
    const days = zones.scan_days;
    if (days.length) {
      const scans = await getJson("/v1/reports/scans",
        { from_date: days[0], to_date: days[days.length - 1], ward });
      const per = new Map(days.map((d) => [d, 0]));
      for (const r of scans.rows) per.set(r.date, (per.get(r.date) || 0) + r.check_ins);
      $("scan-chart").replaceChildren(
        barChart([...per].map(([label, value]) => ({ label, value })), t("scans_per_day")));
    }
    const [y, o, r] = zones.thresholds;
    $("zone-week").textContent = t("zone_week", { a: zones.from, b: zones.to, y, o, r });
    $("zones").querySelector("tbody").replaceChildren(...zones.wards.map((w) => {
      const badge = document.createElement("span");
      badge.className = `level level-${w.level}`;
      badge.textContent = t(`level_${w.level}`);
      const tr = row([`${w.ward}. ${w.ward_name}`, w.population.toLocaleString(), w.new_cases,
        w.per_100k.toLocaleString(), badge]);
      if (w.ward === ward) tr.className = "mine";
      return tr;
    }));
  });
}

$("run-clusters").addEventListener("click", runClusters);
$("dash-refresh").addEventListener("click", showDashboard);
$("dash-ward").addEventListener("change", showDashboard);
