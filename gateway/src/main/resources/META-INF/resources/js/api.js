// The playground's calls to the gateway's /api endpoints. The API key, when the gateway has one, is asked for once
// (on the first 401), kept in localStorage and sent as a bearer token, like an OpenAI client sends its api_key.
const KEY = "steering-mesh.api-key";

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code;
    this.field = e.field;
  }
}

export function forgetKey() {
  localStorage.removeItem(KEY);
}

export function hasKey() {
  return !!localStorage.getItem(KEY);
}

let asking = null; // one dialog for every request that got a 401 at the same time

function askForKey(refused) {
  if (!asking) {
    asking = new Promise((resolve) => {
      const dialog = document.getElementById("key-dialog");
      const input = document.getElementById("key-input");
      document.getElementById("key-error").hidden = !refused;
      input.value = "";
      dialog.addEventListener("close", () => {
        localStorage.setItem(KEY, input.value.trim());
        asking = null;
        resolve();
      }, { once: true });
      dialog.showModal();
    });
  }
  return asking;
}

async function send(path, options = {}) {
  for (;;) {
    const headers = { ...(options.headers || {}) };
    const key = localStorage.getItem(KEY);
    if (key) headers["Authorization"] = `Bearer ${key}`;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: options.method || (options.body !== undefined ? "POST" : "GET"),
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
    });
    if (response.status !== 401) return response;
    await askForKey(!!key);
  }
}

async function failure(response) {
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  return new ApiError(response.status, body);
}

export async function getJson(path, options) {
  const response = await send(path, options);
  if (!response.ok) throw await failure(response);
  return response.json();
}

export function postJson(path, body, options = {}) {
  return getJson(path, { ...options, body });
}

// POSTs and hands each server-sent event ({event, data}) to onEvent as it arrives.
export async function postEvents(path, body, onEvent, signal) {
  const response = await send(path, { body, signal, headers: { Accept: "text/event-stream" } });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      onEvent({ event, data: data ? JSON.parse(data) : null });
    }
  }
}
