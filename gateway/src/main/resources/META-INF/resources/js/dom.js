// Small DOM helpers: every text from the mesh goes in through textContent, never as HTML.
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

export function mount(templateId) {
  const view = document.getElementById("view");
  view.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
  return view;
}

export function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(h("dt", {}, k), h("dd", {}, v instanceof Node ? v : String(v)));
  }
}

export function fmt(x, digits = 4) {
  return typeof x === "number" ? Number(x.toPrecision(digits)).toString() : x ?? "";
}

// "[[token]]" marks the activating token in sae-service's top contexts
export function marked(text) {
  const out = h("span", { class: "context" });
  const parts = text.split(/\[\[|\]\]/);
  parts.forEach((p, i) => out.append(i % 2 === 1 ? h("mark", {}, p) : p));
  return out;
}

export function showError(e) {
  const banner = document.getElementById("banner");
  banner.textContent = e.field ? `${e.message} (field ${e.field})` : e.message;
  banner.hidden = false;
}

export function clearError() {
  document.getElementById("banner").hidden = true;
}
