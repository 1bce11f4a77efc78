// Calls to the server's API, with the API key when there is one; errors as ApiError with the
// server's own message (or the page's, as a msg() of the strings table, when the server gave none).

import { msg, text } from "./i18n.js";
import { state } from "./state.js";

export class ApiError extends Error {
  // `message`: the server's text or a msg()
  constructor(message, status, code) {
    super(text(message));
    this.shown = message;
    this.status = status;
    this.code = code;
  }
}

// what to show for an error: the server's text, or the page's own message (still a msg())
export function errorMessage(err) {
  if (err instanceof ApiError) return err.shown;
  return err && err.message ? err.message : String(err);
}

// what to do when the server asks for a key (set by main.js: show the key form)
export const hooks = { unauthorized: () => {} };

export async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (state.apiKey) headers.set("X-API-Key", state.apiKey);
  if (options.json !== undefined) {
    headers.set("Content-Type", "application/json");
    options = { ...options, body: JSON.stringify(options.json) };
  }
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(msg("error.network"), 0, "network");
  }
  let body = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
  }
  if (!response.ok) {
    const detail = body && body.error ? body.error : null;
    const message = detail && detail.message ? detail.message : msg("error.http", { status: response.status });
    if (response.status === 401) hooks.unauthorized();
    throw new ApiError(message, response.status, detail ? detail.code : "http_" + response.status);
  }
  return body;
}

export function keyHeaders() {
  return state.apiKey ? { "X-API-Key": state.apiKey } : {};
}
