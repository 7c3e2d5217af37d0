// Calls to the officer API with the signed-in token; errors become plain words.
import { t } from "./i18n.js";

let token = sessionStorage.getItem("qrtrace.token") || "";

export function setToken(value) {
  token = value;
  if (value) sessionStorage.setItem("qrtrace.token", value);
  else sessionStorage.removeItem("qrtrace.token");
}

export function hasToken() {
  return Boolean(token);
}

/** An API failure: `code` is the body's `error` (permission_denied, ...), plus field/reason. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body.reason || `HTTP ${status}`);
    this.status = status;
    this.code = body.error || "other";
    this.field = body.field || "";
    this.reason = body.reason || "";
    this.requestId = body.request_id || "";
  }

  /** One sentence for the officer, then the field and the server's reason. */
  plain() {
    const key = `err_${this.code}`;
    const head = t(key) === key ? t("err_other") : t(key);
    const field = this.field ? ` ${t("err_field")} “${this.field}”:` : "";
    return `${head}${field} ${this.reason}`.trim();
  }
}

async function request(method, path, { body, params } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (_e) {
    throw new ApiError(0, { error: "network", reason: "" });
  }
  if (!response.ok) {
    let doc = {};
    try {
      doc = await response.json();
    } catch (_e) {
      doc = { error: "other", reason: `HTTP ${response.status}` };
    }
    throw new ApiError(response.status, doc);
  }
  return response;
}

export async function getJson(path, params) {
  return (await request("GET", path, { params })).json();
}

export async function postJson(path, body) {
  return (await request("POST", path, { body })).json();
}

/** Fetch a file with the token and hand it to the browser as a download. */
export async function download(path, params) {
  const response = await request("GET", path, { params });
  const disposition = response.headers.get("content-disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  const filename = match ? match[1] : "export";
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
  return filename;
}
