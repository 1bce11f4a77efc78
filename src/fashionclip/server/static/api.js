// Calls to the server's API, with the API key when there is one; errors as ApiError with the
// server's own message.

import { state } from "./state.js";

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
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
    throw new ApiError("Cannot reach the server. Check that it is running and try again.", 0, "network");
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
    const message = detail && detail.message ? detail.message : `The server answered ${response.status} ${response.statusText}`.trim();
    if (response.status === 401) hooks.unauthorized();
    throw new ApiError(message, response.status, detail ? detail.code : "http_" + response.status);
  }
  return body;
}

export function keyHeaders() {
  return state.apiKey ? { "X-API-Key": state.apiKey } : {};
}
