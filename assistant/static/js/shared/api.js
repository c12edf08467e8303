// JSON over fetch with the bearer token; a 401 means the session is over.
import { signOut } from "./session.js";

export class ApiError extends Error {
  constructor(status, detail) { super(detail || `HTTP ${status}`); this.status = status; }
}

function detailOf(body) {
  if (!body) return "";
  if (typeof body.detail === "string") return body.detail;
  const issue = body.issue && body.issue[0];
  return issue ? issue.diagnostics || issue.code : "";
}

export function makeClient(base, token) {
  async function call(method, path, { params, json, form, headers, raw } = {}) {
    const url = new URL(base + path);
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null) url.searchParams.append(key, value);
    }
    const init = { method, headers: { ...(headers || {}) }, cache: "no-store" };
    if (token) init.headers.Authorization = `Bearer ${token}`;
    if (json !== undefined) { init.body = JSON.stringify(json); init.headers["Content-Type"] = "application/json"; }
    if (form) init.body = new URLSearchParams(form);
    const response = await fetch(url, init);
    if (response.status === 401 && token) { signOut("expired"); throw new ApiError(401, "signed out"); }
    if (raw) { if (!response.ok) throw new ApiError(response.status, ""); return response; }
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, detailOf(body));
    return body;
  }
  return {
    base, token,
    get: (path, params) => call("GET", path, { params }),
    post: (path, json, options = {}) => call("POST", path, { json, ...options }),
    put: (path, json, options = {}) => call("PUT", path, { json, ...options }),
    raw: (path, params) => call("GET", path, { params, raw: true }),
    call,
  };
}
