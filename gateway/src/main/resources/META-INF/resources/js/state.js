// What the user has picked, shared by the Playground and Evaluate tabs, and turned into the gateway's SteeringSpec.
export const state = {
  info: null,
  prompt: "Once upon a time",
  chat: false,
  kind: "vector",
  vectorId: "",
  positive: "I love you.\nLove is wonderful.",
  negative: "I hate you.\nHate is terrible.",
  hook: "",
  saeId: "",
  feature: null,
  scale: 8,
  evaluation: { criterion: "The text is about love.", scales: "0,4,8,16", samples: 2 },
};

const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);

// SteeringSpec in proto JSON: a registry vector, a contrast recipe or an SAE decoder recipe, built and not stored
export function steeringSpec(scale = state.scale) {
  switch (state.kind) {
    case "vector":
      return { vector_id: state.vectorId, scale };
    case "contrast":
      return { recipe: { save: false, caa_mean: { hook: { name: state.hook }, positive: lines(state.positive), negative: lines(state.negative) } }, scale };
    case "feature":
      return { recipe: { save: false, sae_decoder: { sae_id: state.saeId, features: [{ feature: state.feature ?? -1, weight: 1 }] } }, scale };
  }
  throw new Error(`unknown steering kind ${state.kind}`);
}

export function describeSteering() {
  switch (state.kind) {
    case "vector": return `registry vector ${state.vectorId || "(none)"}`;
    case "contrast": return `contrast at ${state.hook}: ${lines(state.positive).length} positive, ${lines(state.negative).length} negative sentences`;
    case "feature": return `feature ${state.feature ?? "(none)"} of SAE ${state.saeId || "(none)"}`;
  }
  return state.kind;
}
