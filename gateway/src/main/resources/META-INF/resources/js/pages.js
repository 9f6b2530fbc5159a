// The registry's vector pages and sae-service's feature pages.
import { getJson } from "./api.js";
import { h, mount, facts, fmt, marked } from "./dom.js";
import { lineChart } from "./plot.js";
import { state } from "./state.js";

const method = (m) => (m || "").replace("VECTOR_METHOD_", "").toLowerCase();

export async function showVectors() {
  const view = mount("tpl-vectors");
  const { vectors } = await getJson("/api/vectors");
  view.querySelector("#vector-rows").replaceChildren(...vectors.map((v) => h("tr", {},
    h("td", {}, h("a", { href: `#/vectors/${encodeURIComponent(v.id)}` }, v.id)),
    h("td", {}, method(v.method)), h("td", {}, v.hook.name), h("td", {}, fmt(v.norm)),
    h("td", {}, fmt(v.default_scale ?? 1)), h("td", {}, v.calibrated_scale != null ? "yes" : "no"),
    h("td", {}, v.description || ""))));
}

export async function showVector(id) {
  const view = mount("tpl-vector");
  const v = await getJson(`/api/vectors/${encodeURIComponent(id)}`);
  view.querySelector("#v-id").textContent = v.id;
  facts(view.querySelector("#v-facts"), [
    ["method", method(v.method)], ["model", v.model_id], ["hook", v.hook.name], ["positions", (v.positions || "ALL").replace("POSITION_POLICY_", "")],
    ["shape", v.shape], ["norm", fmt(v.norm, 6)], ["scale for strength 1", fmt(v.default_scale ?? 1)],
    ["calibrated scale", v.calibrated_scale != null ? fmt(v.calibrated_scale) : "not calibrated"],
    ["position marker", v.position_marker], ["SAE", v.sae_id], ["effect approximator", v.approximator_id],
    ["created", v.created_at], ["description", v.description],
    ...Object.entries(v.labels || {}).map(([k, x]) => [`label ${k}`, x]),
    ...Object.entries(v.metadata || {}).map(([k, x]) => [k, x]),
  ]);
  view.querySelector("#v-sources").replaceChildren(...(v.sources || []).map((s) => h("li", {}, s)));
  view.querySelector("#v-recipe").textContent = v.recipe ? JSON.stringify(v.recipe, null, 2) : "";
  if ((v.features || []).length) {
    view.querySelector("#v-features").replaceChildren(h("h3", {}, "SAE features"), h("ul", {}, ...v.features.map((f) =>
      h("li", {}, v.sae_id ? h("a", { href: `#/features/${encodeURIComponent(v.sae_id)}/${f.feature ?? 0}` }, `feature ${f.feature ?? 0}`) : `feature ${f.feature ?? 0}`,
        ` weight ${fmt(f.weight ?? 0)}`))));
  }
  const cal = v.calibration;
  if (cal && (cal.points || []).length) {
    const series = (key) => [{ name: key, points: cal.points.map((p) => [p.scale ?? 0, p[key] ?? 0]) }];
    view.querySelector("#v-calibration").replaceChildren(h("h3", {}, `Calibration (best scale ${fmt(cal.best_scale ?? 0)}, ${cal.behaviour_measure})`),
      h("div", { class: "plots" },
        lineChart({ title: "behaviour", xLabel: "scale", yLabel: "behaviour", series: series("behaviour"), yMin: 0, yMax: 1 }),
        lineChart({ title: "coherence", xLabel: "scale", yLabel: "coherence", series: series("coherence"), yMin: 0, yMax: 1 }),
        lineChart({ title: "behaviour x coherence", xLabel: "scale", yLabel: "score", series: series("score"), yMin: 0, yMax: 1 })));
  }
  view.querySelector("#v-steer").addEventListener("click", () => {
    state.kind = "vector";
    state.vectorId = v.id;
    state.scale = v.default_scale ?? 1;
    location.hash = "#/";
  });
}

export async function showFeature(saeId, feature) {
  const view = mount("tpl-feature");
  const f = await getJson(`/api/saes/${encodeURIComponent(saeId)}/features/${encodeURIComponent(feature)}?top_contexts=10`);
  view.querySelector("#f-id").textContent = `${f.feature ?? 0} of ${saeId}`;
  facts(view.querySelector("#f-facts"), [
    ["density", `${fmt(f.density ?? 0, 4)} (fraction of tokens it fires on)`], ["mean activation", fmt(f.mean_activation ?? 0)],
    ["mean when active", fmt(f.mean_active_activation ?? 0)], ["max activation", fmt(f.max_activation ?? 0)],
    ["on BOS", fmt(f.bos_activation ?? 0)], ["BOS feature", f.bos_feature ? "yes" : "no"], ["decoder norm", fmt(f.decoder_norm ?? 0)],
    ["statistics over", `${f.tokens} tokens of ${f.corpus}`],
  ]);
  const contexts = f.top_contexts || [];
  view.querySelector("#f-contexts").replaceChildren(...(contexts.length ? contexts.map((c) =>
    h("li", {}, marked(c.text || ""), h("span", { class: "muted" }, ` activation ${fmt(c.activation ?? 0, 3)}`)))
    : [h("li", {}, "no contexts stored")]));
  view.querySelector("#f-steer").addEventListener("click", () => {
    state.kind = "feature";
    state.saeId = saeId;
    state.feature = f.feature ?? 0;
    location.hash = "#/";
  });
}
