// The playground's entry point: the header (model, key) and a hash router over the tabs and pages.
import { getJson, forgetKey, hasKey } from "./api.js";
import { showError, clearError } from "./dom.js";
import { state } from "./state.js";
import { showPlayground } from "./playground.js";
import { showVectors, showVector, showFeature } from "./pages.js";
import { showEvaluate } from "./evaluate.js";

const routes = [
  [/^#?\/?$/, () => showPlayground()],
  [/^#\/vectors$/, () => showVectors()],
  [/^#\/vectors\/(.+)$/, (id) => showVector(decodeURIComponent(id))],
  [/^#\/features\/([^/]+)\/(\d+)$/, (sae, f) => showFeature(decodeURIComponent(sae), f)],
  [/^#\/evaluate$/, () => showEvaluate(null)],
  [/^#\/evaluate\/(.+)$/, (id) => showEvaluate(decodeURIComponent(id))],
];

async function route() {
  clearError();
  const hash = location.hash || "#/";
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", hash === a.getAttribute("href") || (a.dataset.route !== "playground" && hash.startsWith(a.getAttribute("href")))));
  for (const [pattern, show] of routes) {
    const m = hash.match(pattern);
    if (m) {
      try {
        await show(...m.slice(1));
      } catch (e) {
        showError(e);
      }
      return;
    }
  }
  showError(new Error(`no page at ${hash}`));
}

async function start() {
  try {
    state.info = await getJson("/api/info");
    const i = state.info;
    document.getElementById("model-info").textContent = `${i.model_id}: ${i.n_layers} blocks, d_model ${i.d_model}`;
  } catch (e) {
    document.getElementById("model-info").textContent = "model-service unreachable";
    showError(e);
  }
  const forget = document.getElementById("forget-key");
  forget.hidden = !hasKey();
  forget.addEventListener("click", () => { forgetKey(); location.reload(); });
  window.addEventListener("hashchange", route);
  await route();
}

start();
