// The Playground tab: prompt, steering picker, scale slider, and both continuations streaming side by side.
import { getJson, postJson, postEvents } from "./api.js";
import { h, mount, fmt, showError, clearError } from "./dom.js";
import { state, steeringSpec } from "./state.js";

let inFlight = null; // the generation being streamed; a new one aborts it

export async function showPlayground() {
  const view = mount("tpl-playground");
  const $ = (id) => view.querySelector("#" + id);
  const info = state.info;

  $("prompt").value = state.prompt;
  $("prompt").addEventListener("input", () => (state.prompt = $("prompt").value));
  $("chat-label").hidden = !(info && info.has_chat_template);
  $("chat").checked = state.chat;
  $("chat").addEventListener("change", () => (state.chat = $("chat").checked));

  // the picker's tabs
  const select = (kind) => {
    state.kind = kind;
    view.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.kind === kind));
    view.querySelectorAll(".pane").forEach((p) => (p.hidden = p.dataset.kind !== kind));
  };
  view.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => select(t.dataset.kind)));
  select(state.kind);

  // contrast: the model's hook points, a middle block's input by default
  if (info) {
    const hooks = info.hook_points || [];
    if (!state.hook) state.hook = `blocks.${Math.floor((info.n_layers || 2) / 2)}.hook_resid_pre`;
    $("contrast-hook").replaceChildren(...hooks.map((name) => h("option", { value: name }, name)));
    $("contrast-hook").value = state.hook;
  }
  $("contrast-hook").addEventListener("change", () => (state.hook = $("contrast-hook").value));
  $("positive").value = state.positive;
  $("negative").value = state.negative;
  $("positive").addEventListener("input", () => (state.positive = $("positive").value));
  $("negative").addEventListener("input", () => (state.negative = $("negative").value));

  // scale slider: the label follows it; letting go of it generates again
  const scale = $("scale");
  scale.value = state.scale;
  $("scale-value").textContent = state.scale;
  scale.addEventListener("input", () => {
    state.scale = Number(scale.value);
    $("scale-value").textContent = scale.value;
  });
  scale.addEventListener("change", () => generate(view));
  $("generate").addEventListener("click", () => generate(view));

  await Promise.all([loadVectors(view), loadSaes(view)]);
  $("feature-search").addEventListener("click", () => searchFeatures(view));
  showPicked(view);
}

async function loadVectors(view) {
  const select = view.querySelector("#vector-select");
  if (!state.info || !state.info.vector_service) {
    view.querySelector("#vector-hint").textContent = "this gateway has no vector-service (steering.vector-service.address)";
    return;
  }
  const { vectors } = await getJson("/api/vectors");
  select.replaceChildren(...vectors.map((v) => h("option", { value: v.id }, `${v.id} (${v.method.replace("VECTOR_METHOD_", "").toLowerCase()}, ${v.hook.name})`)));
  if (!vectors.some((v) => v.id === state.vectorId)) state.vectorId = vectors.length ? vectors[0].id : "";
  select.value = state.vectorId;
  const strengthOne = view.querySelector("#vector-strength-1");
  const describe = () => {
    const v = vectors.find((x) => x.id === state.vectorId);
    strengthOne.hidden = !v;
    view.querySelector("#vector-link").href = v ? `#/vectors/${encodeURIComponent(v.id)}` : "#/vectors";
    view.querySelector("#vector-hint").textContent = v
      ? `norm ${fmt(v.norm)}; strength 1 = scale ${fmt(v.default_scale ?? 1)}${v.calibrated_scale != null ? " (calibrated)" : ""}`
      : "the registry is empty: build a vector (steer build ...) or use a contrast";
  };
  select.addEventListener("change", () => {
    state.vectorId = select.value;
    describe();
  });
  // the scale that strength 1 means (the calibrated one when the vector was calibrated)
  strengthOne.addEventListener("click", () => {
    const v = vectors.find((x) => x.id === state.vectorId);
    const slider = view.querySelector("#scale");
    slider.value = v.default_scale ?? 1;
    slider.dispatchEvent(new Event("input"));
    slider.dispatchEvent(new Event("change"));
  });
  describe();
}

async function loadSaes(view) {
  const select = view.querySelector("#sae-select");
  if (!state.info || !state.info.sae_service) {
    view.querySelector("#feature-picked").textContent = "this gateway has no sae-service (steering.sae-service.address)";
    return;
  }
  const { saes } = await getJson("/api/saes");
  select.replaceChildren(...saes.map((s) => h("option", { value: s.id }, `${s.id} (${s.hook.name}, ${s.d_sae} features)`)));
  if (!saes.some((s) => s.id === state.saeId)) state.saeId = saes.length ? saes[0].id : "";
  select.value = state.saeId;
  select.addEventListener("change", () => {
    state.saeId = select.value;
    state.feature = null;
    showPicked(view);
  });
}

async function searchFeatures(view) {
  clearError();
  const list = view.querySelector("#feature-hits");
  try {
    const r = await postJson("/api/features/search", { sae_id: state.saeId, text: view.querySelector("#feature-query").value, top_k: 8 });
    list.replaceChildren(...(r.hits || []).map((hit) => {
      const stat = hit.stat || {};
      return h("li", {},
        h("button", { type: "button", class: "feature-pick", "data-feature": hit.feature, onclick: () => { state.feature = hit.feature; showPicked(view); } }, `feature ${hit.feature}`),
        ` activation ${fmt(hit.activation ?? 0, 3)} on "${hit.max_token ?? ""}", density ${fmt(stat.density ?? 0, 3)} `,
        h("a", { href: `#/features/${encodeURIComponent(state.saeId)}/${hit.feature}` }, "feature page"));
    }));
    if (!(r.hits || []).length) list.replaceChildren(h("li", {}, "no feature fires on that text"));
  } catch (e) {
    showError(e);
  }
}

function showPicked(view) {
  const p = view.querySelector("#feature-picked");
  if (state.info && state.info.sae_service) p.textContent = state.feature == null ? "no feature picked: search, then pick one" : `steering with feature ${state.feature} of ${state.saeId}`;
}

async function generate(view) {
  clearError();
  if (inFlight) inFlight.abort();
  const controller = new AbortController();
  inFlight = controller;
  const columns = { unsteered: view.querySelector("#unsteered"), steered: view.querySelector("#steered") };
  const info = view.querySelector("#run-info");
  Object.values(columns).forEach((c) => { c.textContent = ""; c.classList.remove("failed"); });
  view.querySelectorAll(".prompt-echo").forEach((p) => (p.textContent = state.prompt)); // what both continue
  info.dataset.state = "running";
  info.textContent = "generating...";
  const body = {
    prompt: state.prompt, chat: state.chat, steering: [steeringSpec()],
    max_tokens: Number(view.querySelector("#max-tokens").value),
    temperature: Number(view.querySelector("#temperature").value),
    seed: view.querySelector("#seed").value === "" ? null : Number(view.querySelector("#seed").value),
  };
  try {
    await postEvents("/api/generate", body, ({ event, data }) => {
      if (event === "start") {
        const iv = data.steering.map((s) => `${s.hook.name} x ${fmt(s.scale ?? 1)}`).join(", ");
        info.textContent = `seed ${data.seed} for both columns; steered: ${iv}`;
      } else if (event === "token") {
        columns[data.column].textContent += data.text;
      } else if (event === "error") {
        columns[data.column].classList.add("failed");
        columns[data.column].textContent += `\n[${data.error.message}]`;
      } else if (event === "end") {
        info.dataset.state = "done";
      }
    }, controller.signal);
  } catch (e) {
    if (e.name === "AbortError") return;
    info.dataset.state = "failed";
    info.textContent = "";
    showError(e);
  } finally {
    if (inFlight === controller) inFlight = null;
  }
}
