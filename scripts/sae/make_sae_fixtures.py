#!/usr/bin/env python3
"""Make the SAE test fixtures of sae-service (sae-service/src/test/resources/sae-fixtures/).

Each fixture is a small SAE written in one public on-disk format, plus inputs and the feature activations and
reconstructions that an independent NumPy implementation of that format's semantics computes for them
(SAELens `encode`/`decode`, Gemma Scope JumpReLU, EleutherAI sparsify TopK; see docs/sae-service.md,
"Formats and arithmetic"). The Java loaders and encoder are checked against these numbers.

Usage (needs numpy only; safetensors files are written by hand, the format is simple):

    python3 scripts/sae/make_sae_fixtures.py [OUTPUT_DIR]

Deterministic values (fixed seed). Writes, per fixture, a folder with the SAE files and `expected.npz` holding
`x` [n, d_in], `features` [n, d_sae] and `reconstruction` [n, d_in]:

* saelens_topk/           v6 cfg (metadata object), topk k=3, apply_b_dec_to_input, no normalisation
* saelens_topk_rescale/   v6 cfg, topk k=2 with rescale_acts_by_decoder_norm (decoder rows of mixed norms)
* saelens_jumprelu_ln/    v6 cfg, jumprelu with log_threshold stored, layer_norm normalisation
* saelens_standard_pre6/  a flat pre-6.0 cfg (hook_point, no architecture), standard ReLU, constant_norm_rescale
* saelens_batchtopk/      batchtopk k=2 without a threshold (batch-level top k*n)
* gemma_scope/layer_3/width_16/average_l0_4/params.npz   JumpReLU, no b_dec subtraction
* sparsify/layers.2/      cfg.json + sae.safetensors (encoder.weight [d_sae, d_in], W_dec, b_dec), topk k=3
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np

D_IN = 6
D_SAE = 10
N = 5


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header = {}
    offset = 0
    blobs = []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def weights(rng, d_in=D_IN, d_sae=D_SAE):
    w_enc = rng.standard_normal((d_in, d_sae)).astype(np.float32)
    b_enc = (0.3 * rng.standard_normal(d_sae)).astype(np.float32)
    w_dec = rng.standard_normal((d_sae, d_in)).astype(np.float32)
    b_dec = (0.5 * rng.standard_normal(d_in)).astype(np.float32)
    return w_enc, b_enc, w_dec, b_dec


def topk_dense(pre: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros_like(pre)
    idx = np.argsort(-pre, axis=-1, kind="stable")[:, :k]
    rows = np.arange(pre.shape[0])[:, None]
    out[rows, idx] = np.maximum(pre[rows, idx], 0)
    return out


def save_expected(folder: Path, x, f, r) -> None:
    np.savez(folder / "expected.npz", x=x.astype(np.float32), features=f.astype(np.float32),
             reconstruction=r.astype(np.float32))


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "sae-service/src/test/resources/sae-fixtures"
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20250101)

    def inputs(scale=2.0):
        return (scale * rng.standard_normal((N, D_IN)) + 1.0).astype(np.float32)

    # --- SAELens topk, v6 -----------------------------------------------------------------------------------------
    d = root / "saelens_topk"
    d.mkdir(exist_ok=True)
    w_enc, b_enc, w_dec, b_dec = weights(rng)
    cfg = {"architecture": "topk", "d_in": D_IN, "d_sae": D_SAE, "dtype": "float32", "device": "cpu",
           "apply_b_dec_to_input": True, "normalize_activations": "none", "reshape_activations": "none", "k": 3,
           "metadata": {"model_name": "tiny-model", "hook_name": "blocks.1.hook_resid_post", "prepend_bos": True,
                        "context_size": 128, "dataset_path": "fixture", "sae_lens_version": "6.5.0"}}
    (d / "cfg.json").write_text(json.dumps(cfg, indent=1))
    write_safetensors(d / "sae_weights.safetensors", {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec})
    x = inputs()
    f = topk_dense((x - b_dec) @ w_enc + b_enc, 3)
    save_expected(d, x, f, f @ w_dec + b_dec)

    # --- SAELens topk with rescale_acts_by_decoder_norm -------------------------------------------------------------
    d = root / "saelens_topk_rescale"
    d.mkdir(exist_ok=True)
    w_enc, b_enc, w_dec, b_dec = weights(rng)
    w_dec = w_dec * rng.uniform(0.2, 3.0, size=(D_SAE, 1)).astype(np.float32)
    cfg = {"architecture": "topk", "d_in": D_IN, "d_sae": D_SAE, "apply_b_dec_to_input": True,
           "normalize_activations": "none", "k": 2, "rescale_acts_by_decoder_norm": True,
           "metadata": {"model_name": "tiny-model", "hook_name": "blocks.0.hook_resid_pre", "sae_lens_version": "6.18.0"}}
    (d / "cfg.json").write_text(json.dumps(cfg, indent=1))
    write_safetensors(d / "sae_weights.safetensors", {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec})
    x = inputs()
    norms = np.linalg.norm(w_dec, axis=-1)
    f = topk_dense(((x - b_dec) @ w_enc + b_enc) * norms, 2)
    save_expected(d, x, f, (f / norms) @ w_dec + b_dec)

    # --- SAELens jumprelu, log_threshold, layer_norm --------------------------------------------------------------
    d = root / "saelens_jumprelu_ln"
    d.mkdir(exist_ok=True)
    w_enc, b_enc, w_dec, b_dec = weights(rng)
    threshold = rng.uniform(0.05, 1.0, size=D_SAE).astype(np.float32)
    cfg = {"architecture": "jumprelu", "d_in": D_IN, "d_sae": D_SAE, "apply_b_dec_to_input": False,
           "normalize_activations": "layer_norm",
           "metadata": {"model_name": "tiny-model", "hook_name": "blocks.2.hook_resid_mid", "sae_lens_version": "6.0.0"}}
    (d / "cfg.json").write_text(json.dumps(cfg, indent=1))
    write_safetensors(d / "sae_weights.safetensors", {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec,
                                                      "log_threshold": np.log(threshold)})
    x = inputs(3.0)
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    std = xc.std(-1, ddof=1, keepdims=True)
    xn = xc / (std + 1e-5)
    pre = xn @ w_enc + b_enc
    f = np.maximum(pre, 0) * (pre > np.exp(np.log(threshold)))
    save_expected(d, x, f, (f @ w_dec + b_dec) * std + mu)

    # --- SAELens standard, flat pre-6 cfg, constant_norm_rescale ---------------------------------------------------
    d = root / "saelens_standard_pre6"
    d.mkdir(exist_ok=True)
    w_enc, b_enc, w_dec, b_dec = weights(rng)
    cfg = {"d_in": D_IN, "d_sae": D_SAE, "hook_point": "blocks.3.hook_resid_post", "model_name": "tiny-model",
           "normalize_activations": "constant_norm_rescale", "context_size": 64, "prepend_bos": False,
           "dataset_path": "fixture-pre6"}
    (d / "cfg.json").write_text(json.dumps(cfg, indent=1))
    write_safetensors(d / "sae_weights.safetensors", {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec})
    x = inputs()
    coeff = np.sqrt(D_IN) / np.linalg.norm(x, axis=-1, keepdims=True)
    f = np.maximum((x * coeff - b_dec) @ w_enc + b_enc, 0)
    save_expected(d, x, f, (f @ w_dec + b_dec) / coeff)

    # --- SAELens batchtopk without threshold ---------------------------------------------------------------------
    d = root / "saelens_batchtopk"
    d.mkdir(exist_ok=True)
    w_enc, b_enc, w_dec, b_dec = weights(rng)
    cfg = {"architecture": "batchtopk", "d_in": D_IN, "d_sae": D_SAE, "apply_b_dec_to_input": True,
           "normalize_activations": "none", "k": 2.0,
           "metadata": {"model_name": "tiny-model", "hook_name": "blocks.1.hook_resid_post", "sae_lens_version": "6.3.0"}}
    (d / "cfg.json").write_text(json.dumps(cfg, indent=1))
    write_safetensors(d / "sae_weights.safetensors", {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec})
    x = inputs()
    acts = np.maximum((x - b_dec) @ w_enc + b_enc, 0).ravel()
    keep = np.argsort(-acts, kind="stable")[: 2 * N]
    flat = np.zeros_like(acts)
    flat[keep] = acts[keep]
    f = flat.reshape(N, D_SAE)
    save_expected(d, x, f, f @ w_dec + b_dec)

    # --- Gemma Scope params.npz ----------------------------------------------------------------------------------
    d = root / "gemma_scope/layer_3/width_16/average_l0_4"
    d.mkdir(parents=True, exist_ok=True)
    w_enc, b_enc, w_dec, b_dec = weights(rng, D_IN, 16)
    threshold = rng.uniform(0.1, 1.5, size=16).astype(np.float32)
    np.savez(d / "params.npz", W_enc=w_enc, b_enc=b_enc, threshold=threshold, W_dec=w_dec, b_dec=b_dec)
    x = inputs()
    pre = x @ w_enc + b_enc
    f = np.maximum(pre, 0) * (pre > threshold)
    save_expected(d, x, f, f @ w_dec + b_dec)

    # --- EleutherAI sparsify ---------------------------------------------------------------------------------------
    d = root / "sparsify/layers.2"
    d.mkdir(parents=True, exist_ok=True)
    num_latents = 12
    enc_w = rng.standard_normal((num_latents, D_IN)).astype(np.float32)
    enc_b = (0.3 * rng.standard_normal(num_latents)).astype(np.float32)
    w_dec = rng.standard_normal((num_latents, D_IN)).astype(np.float32)
    w_dec /= np.linalg.norm(w_dec, axis=-1, keepdims=True)
    b_dec = (0.5 * rng.standard_normal(D_IN)).astype(np.float32)
    cfg = {"activation": "topk", "expansion_factor": 2, "normalize_decoder": True, "num_latents": num_latents,
           "k": 3, "multi_topk": False, "skip_connection": False, "transcode": False, "d_in": D_IN}
    (d / "cfg.json").write_text(json.dumps(cfg))
    write_safetensors(d / "sae.safetensors", {"encoder.weight": enc_w, "encoder.bias": enc_b, "W_dec": w_dec, "b_dec": b_dec})
    x = inputs()
    pre = np.maximum((x - b_dec) @ enc_w.T + enc_b, 0)
    f = topk_dense(pre, 3)
    save_expected(d, x, f, f @ w_dec + b_dec)


if __name__ == "__main__":
    main()
