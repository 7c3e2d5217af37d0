// Register an F0, trace it, page through the ranked F1 list, see evidence, follow up, export.
import { download, getJson, postJson } from "./api.js";
import { busy, clearMessage, say, state, wardName } from "./app.js";
import { hhmm, timeline } from "./charts.js";
import { t } from "./i18n.js";
import { showF2 } from "./views.js";

const STATUSES = ["to_call", "called", "isolating", "tested", "unreachable"];
const $ = (id) => document.getElementById(id);
const view = { caseId: "", offset: 0, doc: null, selected: new Set(), open: new Set(), f2: null };

function td(text, cls = "") {
  const cell = document.createElement("td");
  cell.textContent = text;
  if (cls) cell.className = cls;
  return cell;
}

function when(iso) {
  return iso ? `${iso.slice(0, 10)} ${hhmm(iso)}` : "";
}

function fillStatuses(select, withBlank) {
  select.replaceChildren();
  if (withBlank) select.append(new Option("—", ""));
  for (const s of STATUSES) select.append(new Option(t(`status_${s}`), s));
}

async function loadRules() {
  const doc = await getJson("/v1/rules");
  const select = $("f0-rules");
  select.replaceChildren();
  for (const r of doc.rule_sets) {
    const opt = new Option(`${r.name} v${r.version}`, r.name, false, r.name === doc.default_rule_set);
    opt.disabled = state.me.role !== "admin" && r.name !== doc.default_rule_set;
    select.append(opt);
  }
  select.title = state.me.role === "admin" ? "" : t("rules_admin_only");
}

async function loadCases() {
  const doc = await getJson("/v1/cases", { limit: 200 });
  const select = $("case-list");
  select.replaceChildren();
  for (const c of doc.cases) {
    const who = c.person ? ` · ${c.person}` : "";
    select.append(new Option(`${c.case_id}${who} · ${c.sample_date} · ${wardName(c.ward)}`, c.case_id));
  }
}

export async function initTrace() {
  fillStatuses($("bulk-status"), false);
  await busy(t("loading"), async () => {
    await loadRules();
    await loadCases();
  });
}

export function retranslateTrace() {
  const bulk = $("bulk-status").value;
  fillStatuses($("bulk-status"), false);
  $("bulk-status").value = bulk;
  if (view.doc) render();
}

function pageSize() {
  return Number($("page-size").value);
}

async function fetchPage() {
  const body = { case_id: view.caseId, limit: pageSize(), offset: view.offset, purpose: "web" };
  const rules = $("f0-rules").value;
  if (state.me.role === "admin" && rules) body.rules = rules;
  if (view.f2 === null) body.f2 = true;
  const doc = await busy(t("tracing"), () => postJson("/v1/trace/case", body));
  if (!doc) return;
  if (view.f2 === null) view.f2 = doc.f2_candidates || [];
  view.doc = doc;
  view.selected.clear();
  render();
  showF2(view.f2);
}

/** Open a registered case: first page, fresh F2 list. */
export async function openCase(caseId) {
  clearMessage();
  view.caseId = caseId;
  view.offset = 0;
  view.f2 = null;
  view.open.clear();
  await fetchPage();
}

function tiersOf(doc) {
  const stamp = doc.rules?.params || {};
  const tiers = [stamp.tier_high, stamp.tier_low].filter(Boolean);
  for (const c of doc.contacts) if (!tiers.includes(c.tier)) tiers.push(c.tier);
  return tiers;
}

function render() {
  const doc = view.doc;
  $("result").hidden = false;
  $("case-title").textContent = `${t("case")} ${doc.case_id} — ${doc.rules.name} v${doc.rules.version}`;
  const c = doc.counts;
  $("counts").textContent =
    `${c.contacts.toLocaleString()} ${t("contacts_found")}, ${c.high_tier.toLocaleString()} ${t("high_tier")} ` +
    `(${c.all_wards.toLocaleString()} ${t("all_wards_total")})`;
  const filter = $("tier-filter");
  const chosen = filter.value;
  filter.replaceChildren(new Option(t("all_tiers"), ""));
  for (const tier of tiersOf(doc)) filter.append(new Option(tier, tier));
  filter.value = chosen;
  const a = c.contacts ? view.offset + 1 : 0;
  const b = view.offset + c.shown;
  $("page-info").textContent = t("rows_of", { a, b, n: c.contacts.toLocaleString() });
  $("prev").disabled = view.offset === 0;
  $("next").disabled = b >= c.contacts;
  $("select-page").checked = false;
  const high = doc.rules?.params?.tier_high;
  const body = $("contacts").querySelector("tbody");
  body.replaceChildren();
  for (const contact of doc.contacts) {
    if (filter.value && contact.tier !== filter.value) continue;
    const tr = document.createElement("tr");
    tr.dataset.person = contact.person;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "pick";
    box.checked = view.selected.has(contact.person);
    box.addEventListener("change", () => {
      if (box.checked) view.selected.add(contact.person);
      else view.selected.delete(contact.person);
    });
    const pick = document.createElement("td");
    pick.append(box);
    const more = document.createElement("button");
    more.type = "button";
    more.className = "expand";
    more.textContent = t("details");
    more.addEventListener("click", () => toggle(contact, tr));
    const moreCell = document.createElement("td");
    moreCell.append(more);
    tr.append(
      pick, td(contact.rank, "num"), td(contact.person), td(contact.tier, contact.tier === high ? "tier-high" : ""),
      td(Number(contact.score).toLocaleString(undefined, { maximumFractionDigits: 2 }), "num"),
      td(Number(contact.minutes).toLocaleString(undefined, { maximumFractionDigits: 1 }), "num"),
      td(contact.shared_visits, "num"), td(when(contact.first_exposure)), td(when(contact.last_exposure)),
      td(wardName(contact.home_ward)), td(t(`status_${contact.follow_up}`), "status"), moreCell,
    );
    body.append(tr);
    if (view.open.has(contact.person)) body.append(evidenceRow(contact));
  }
}

function evidenceRow(contact) {
  const tr = document.createElement("tr");
  tr.className = "evidence";
  const cell = document.createElement("td");
  cell.colSpan = 12;
  const title = document.createElement("strong");
  title.textContent = `${t("evidence")} — ${contact.person}`;
  cell.append(title, timeline(contact.evidence, view.doc.case_visits, t("evidence")));
  const table = document.createElement("table");
  const head = document.createElement("tr");
  for (const k of ["venue", "category", "overlap", "minutes", "score", "checkout", "case_checkout"]) {
    const th = document.createElement("th");
    th.textContent = t(k);
    head.append(th);
  }
  table.append(head);
  for (const e of contact.evidence) {
    const row = document.createElement("tr");
    const observed = (v) => (v === "observed" ? t("observed") : `${t("imputed")} (${v})`);
    row.append(
      td(`#${e.venue} · ${wardName(e.ward)}`), td(e.category),
      td(`${when(e.overlap_start)} – ${hhmm(e.overlap_end)}`), td(e.minutes, "num"),
      td(Number(e.score).toLocaleString(undefined, { maximumFractionDigits: 2 }), "num"),
      td(observed(e.contact_checkout)), td(observed(e.case_checkout)),
    );
    table.append(row);
  }
  cell.append(table);
  tr.append(cell);
  return tr;
}

function toggle(contact, tr) {
  if (view.open.has(contact.person)) {
    view.open.delete(contact.person);
    if (tr.nextSibling?.classList.contains("evidence")) tr.nextSibling.remove();
  } else {
    view.open.add(contact.person);
    tr.after(evidenceRow(contact));
  }
}

async function applyStatus() {
  const status = $("bulk-status").value;
  const people = [...view.selected];
  if (!people.length) {
    say(t("none_selected"));
    return;
  }
  const updates = people.map((person) => ({ person, status }));
  const done = await busy(t("loading"), () =>
    postJson("/v1/contacts/follow-up", { updates, purpose: "web follow-up" }));
  if (!done) return;
  await fetchPage();
  say(t("updated_n", { n: done.updated }), "ok");
}

async function exportAs(format) {
  if (!view.caseId) return;
  const name = await busy(t("loading"), () =>
    download(`/v1/cases/${encodeURIComponent(view.caseId)}/export`, { format, purpose: "web export" }));
  if (name) say(t("exported", { f: name, n: view.doc.counts.contacts }), "ok");
}

async function registerF0(ev) {
  ev.preventDefault();
  clearMessage();
  const body = {
    person: $("f0-person").value.trim(),
    sample_date: $("f0-sample").value,
    onset_date: $("f0-onset").value,
  };
  const doc = await busy(t("loading"), () => postJson("/v1/cases", body));
  if (!doc) return;
  await busy(t("loading"), loadCases);
  $("case-list").value = doc.case_id;
  await openCase(doc.case_id);
}

$("f0-form").addEventListener("submit", registerF0);
$("open-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if ($("case-list").value) openCase($("case-list").value);
});
$("prev").addEventListener("click", () => {
  view.offset = Math.max(0, view.offset - pageSize());
  fetchPage();
});
$("next").addEventListener("click", () => {
  view.offset += pageSize();
  fetchPage();
});
$("page-size").addEventListener("change", () => {
  view.offset = 0;
  fetchPage();
});
$("tier-filter").addEventListener("change", () => render());
$("select-page").addEventListener("change", (ev) => {
  for (const box of document.querySelectorAll("#contacts input.pick")) {
    box.checked = ev.target.checked;
    box.dispatchEvent(new Event("change"));
  }
});
$("apply-status").addEventListener("click", applyStatus);
$("export-csv").addEventListener("click", () => exportAs("csv"));
$("export-xlsx").addEventListener("click", () => exportAs("xlsx"));
