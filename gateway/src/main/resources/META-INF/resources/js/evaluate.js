// The Evaluate tab: a behaviour x coherence sweep over scales of the picked steering, and its three plots.
import { getJson, postJson } from "./api.js";
import { h, mount, fmt, showError, clearError } from "./dom.js";
import { lineChart } from "./plot.js";
import { state, steeringSpec, describeSteering } from "./state.js";

let polling = null;

export function showEvaluate(operationId) {
  const view = mount("tpl-evaluate");
  const $ = (id) => view.querySelector("#" + id);
  $("e-steering").textContent = `"${state.prompt}", ${describeSteering()}`;
  const form = state.evaluation; // kept while the page switches to the operation's address
  $("e-criterion").value = form.criterion;
  $("e-scales").value = form.scales;
  $("e-samples").value = form.samples;
  $("e-criterion").addEventListener("input", () => (form.criterion = $("e-criterion").value));
  $("e-scales").addEventListener("input", () => (form.scales = $("e-scales").value));
  $("e-samples").addEventListener("input", () => (form.samples = $("e-samples").value));
  $("e-start").addEventListener("click", async () => {
    clearError();
    try {
      const scales = $("e-scales").value.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
      const op = await postJson("/api/evaluations", {
        prompt: state.prompt, chat: state.chat, criterion: $("e-criterion").value, steering: [steeringSpec()],
        scales, samples: Number($("e-samples").value),
      });
      location.hash = `#/evaluate/${op.id}`;
    } catch (e) {
      showError(e);
    }
  });
  $("e-load").addEventListener("click", () => (location.hash = `#/evaluate/${$("e-op").value.trim()}`));
  if (operationId) {
    $("e-op").value = operationId;
    watch(view, operationId);
  }
}

function watch(view, id) {
  if (polling) clearTimeout(polling);
  const progress = view.querySelector("#e-progress");
  const status = view.querySelector("#e-status");
  const cancel = view.querySelector("#e-cancel");
  progress.hidden = false;
  cancel.onclick = () => postJson(`/api/operations/${encodeURIComponent(id)}/cancel`, {}).catch(showError);
  const poll = async () => {
    if (!document.body.contains(progress)) return; // the user left the tab
    try {
      const op = await getJson(`/api/operations/${encodeURIComponent(id)}`);
      progress.value = op.progress ?? 0;
      cancel.hidden = !["OPERATION_STATE_PENDING", "OPERATION_STATE_RUNNING"].includes(op.state);
      status.textContent = `${(op.state || "").replace("OPERATION_STATE_", "").toLowerCase()} ${op.message || ""}`;
      if (op.state === "OPERATION_STATE_SUCCEEDED") return draw(view, op.result);
      if (op.state === "OPERATION_STATE_FAILED") return showError(new Error(op.error ? op.error.message : "the evaluation failed"));
      if (op.state === "OPERATION_STATE_CANCELLED") return;
      polling = setTimeout(poll, 700);
    } catch (e) {
      showError(e);
    }
  };
  poll();
}

function draw(view, result) {
  if (!result) return showError(new Error("this operation is not an evaluation"));
  const points = result.points || [];
  const byLabel = new Map();
  for (const p of points) {
    if (!byLabel.has(p.label)) byLabel.set(p.label, []);
    byLabel.get(p.label).push(p);
  }
  const series = (key, perSample) => [...byLabel.entries()].map(([name, ps]) => ({
    name,
    points: ps.map((p) => [p.scale ?? 0, p[key] ?? 0]),
    dots: perSample ? ps.flatMap((p) => (p[perSample] || []).map((v) => [p.scale ?? 0, v])) : [],
  }));
  view.querySelector("#e-plots").replaceChildren(
    lineChart({ title: "behaviour", xLabel: "scale", yLabel: "behaviour", series: series("behaviour", "sample_behaviour"), yMin: 0, yMax: 1 }),
    lineChart({ title: "coherence", xLabel: "scale", yLabel: "coherence", series: series("coherence", "sample_coherence"), yMin: 0, yMax: 1 }),
    lineChart({ title: "behaviour x coherence", xLabel: "scale", yLabel: "product", series: series("product"), yMin: 0 }));
  view.querySelector("#e-best").replaceChildren(h("p", {}, `criterion "${result.criterion}", judge ${result.judge}, ${fmt(result.wall_seconds ?? 0, 3)} s. Best: `,
    ...(result.best || []).map((b) => `${b.label} at scale ${fmt(b.scale ?? 0)} (product ${fmt(b.product ?? 0, 3)}) `)));
  const table = view.querySelector("#e-samples-table");
  table.hidden = false;
  table.tBodies[0].replaceChildren(...points.flatMap((p) => (p.samples || []).map((s, i) => h("tr", {},
    h("td", {}, fmt(p.scale ?? 0)), h("td", {}, fmt((p.sample_behaviour || [])[i] ?? 0, 3)),
    h("td", {}, fmt((p.sample_coherence || [])[i] ?? 0, 3)), h("td", {}, s)))));
}
