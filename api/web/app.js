// The page shell: sign in, language toggle, tabs, messages and progress.
import { ApiError, getJson, hasToken, setToken } from "./api.js";
import { applyStatic, currentLang, setLang, t } from "./i18n.js";
import { initTrace, retranslateTrace } from "./trace.js";
import { initViews, showDashboard } from "./views.js";

export const state = { me: null };
const $ = (id) => document.getElementById(id);

/** Show a message: an ApiError in plain words, or a text; kind "error" or "ok". */
export function say(what, kind = "error") {
  const box = $("message");
  box.textContent = what instanceof ApiError ? what.plain() : String(what);
  box.className = kind;
  box.hidden = false;
}

export function clearMessage() {
  $("message").hidden = true;
}

/** Run `work` with the progress bar and `label` shown; errors are said in plain words. */
export async function busy(label, work) {
  $("progress-text").textContent = label;
  $("progress").hidden = false;
  document.body.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (err) {
    say(err instanceof ApiError ? err : t("err_other"));
    if (!(err instanceof ApiError)) console.error(err);
    return undefined;
  } finally {
    $("progress").hidden = true;
    document.body.removeAttribute("aria-busy");
  }
}

export function wardName(code) {
  return state.me?.wards?.[code] ?? (code ? String(code) : "—");
}

function showWho() {
  const me = state.me;
  const role = t(`role_${me.role}`);
  const ward = me.ward ? ` — ${t("ward_of")} ${me.ward_name}` : ` — ${t("all_wards")}`;
  $("who").textContent = `${me.name} (${role})${ward}`;
}

async function signIn(token) {
  setToken(token);
  const me = await busy(t("loading"), () => getJson("/web/api/me"));
  if (!me) {
    setToken("");
    return;
  }
  state.me = me;
  clearMessage();
  showWho();
  $("who").hidden = false;
  $("signout").hidden = false;
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  await initViews();
  await initTrace();
  selectTab("trace");
}

export function selectTab(name) {
  clearMessage();
  for (const b of document.querySelectorAll("nav button")) {
    b.setAttribute("aria-selected", String(b.dataset.tab === name));
  }
  for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== `tab-${name}`;
  if (name === "dashboard") showDashboard();
}

function wire() {
  applyStatic();
  $("lang").addEventListener("click", () => {
    setLang(currentLang() === "vi" ? "en" : "vi");
    if (state.me) {
      showWho();
      retranslateTrace();
    }
  });
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn($("token").value.trim());
  });
  $("signout").addEventListener("click", () => {
    setToken("");
    window.location.reload();
  });
  for (const b of document.querySelectorAll("nav button")) {
    b.addEventListener("click", () => selectTab(b.dataset.tab));
  }
  document.documentElement.lang = currentLang();
  if (hasToken()) signIn(sessionStorage.getItem("qrtrace.token"));
}

wire();
