#!/usr/bin/env python3
"""Independent float64 forward pass of a GGUF Llama model, as a reference for edgehal's tests.

Reads the model with gguf-py's GGUFReader, dequantizes every weight with gguf.quants.dequantize
(F32, F16, Q8_0, Q4_0, Q4_1, ...) and computes, in float64 numpy, what llama.cpp's LLAMA graph
computes: RMS norm, RoPE in NORM mode (adjacent pairs), causal grouped-query attention, a SwiGLU
feed-forward, the final norm and the output head (tied to token_embd when output.weight is absent).

    python3 scripts/llama_reference.py MODEL.gguf --tokens 1,2,3 --out logits.npy [--last-only]
        [--greedy N]

Writes the logits as float64 [n_tokens, n_vocab] ([1, n_vocab] with --last-only) and prints one
JSON line: {"argmax": [top-1 id per position], "n_vocab": V, "n_layer": L[, "greedy": [ids]]}.
"""
import argparse
import json
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

ARCH = "llama"


def field(reader, key, default=None):
    """The value of a metadata key (a scalar, a string or a list), or `default` when absent."""
    f = reader.get_field(key)
    return default if f is None else f.contents()


def per_layer(value, n_layer):
    """A hyperparameter that GGUF stores either as one scalar or as one value per layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layer:
            raise ValueError(f"per-layer array of length {len(value)} for {n_layer} layers")
        return [int(v) for v in value]
    return [int(value)] * n_layer


def load_config(reader):
    """The LLAMA hyperparameters, with llama.cpp's defaults."""
    arch = field(reader, "general.architecture")
    if arch != ARCH:
        raise ValueError(f"general.architecture is {arch!r}, only {ARCH!r} is supported")
    n_layer = int(field(reader, f"{ARCH}.block_count"))
    n_embd = int(field(reader, f"{ARCH}.embedding_length"))
    n_head = per_layer(field(reader, f"{ARCH}.attention.head_count"), n_layer)
    n_kv = per_layer(field(reader, f"{ARCH}.attention.head_count_kv", n_head), n_layer)
    head_dim = int(field(reader, f"{ARCH}.attention.key_length", n_embd // n_head[0]))
    return {
        "n_layer": n_layer,
        "n_head": n_head,
        "n_kv": n_kv,
        "head_dim": head_dim,
        "eps": float(field(reader, f"{ARCH}.attention.layer_norm_rms_epsilon", 1e-5)),
        "rope_dim": int(field(reader, f"{ARCH}.rope.dimension_count", head_dim)),
        "freq_base": float(field(reader, f"{ARCH}.rope.freq_base", 10000.0)),
    }


def load_weights(reader):
    """Every tensor dequantized to float64, shaped like numpy row-major: reversed GGUF ne order.

    GGUF's ne[0] is the contiguous dimension, so a matrix with ne = [k, n] becomes [n, k] here
    and a linear layer is `x @ W.T`.
    """
    weights = {}
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        w = dequantize(t.data, t.tensor_type).astype(np.float64)
        weights[t.name] = w.reshape(shape)
    return weights


def rms_norm(x, weight, eps):
    """x / sqrt(mean(x^2) + eps) * weight over the last axis."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def linear(weights, name, x):
    """x @ W.T (+ bias when the model has one), W = weights[name + '.weight']."""
    y = x @ weights[name + ".weight"].T
    bias = weights.get(name + ".bias")
    return y if bias is None else y + bias


def rope_tables(cfg, weights, n_pos):
    """cos and sin [n_pos, rope_dim / 2]: angle pos * freq_base^(-2i / rope_dim) for pair i."""
    half = cfg["rope_dim"] // 2
    theta = cfg["freq_base"] ** (-2.0 * np.arange(half, dtype=np.float64) / cfg["rope_dim"])
    factors = weights.get("rope_freqs.weight")
    if factors is not None:
        theta = theta / factors[:half]
    angle = np.arange(n_pos, dtype=np.float64)[:, None] * theta[None, :]
    return np.cos(angle), np.sin(angle)


def rope_norm(x, cos, sin, rope_dim):
    """llama.cpp's NORM RoPE on x [s, heads, head_dim]: rotates the pairs (2i, 2i+1) of the
    first rope_dim dimensions, leaves the rest alone."""
    out = x.copy()
    x0 = x[..., 0:rope_dim:2]
    x1 = x[..., 1:rope_dim:2]
    c, s = cos[:, None, :], sin[:, None, :]
    out[..., 0:rope_dim:2] = x0 * c - x1 * s
    out[..., 1:rope_dim:2] = x0 * s + x1 * c
    return out


def softmax(x):
    """Softmax over the last axis (masked entries are -inf)."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def attention(q, k, v):
    """Causal GQA: q [s, n_head, d], k/v [s, n_kv, d] -> [s, n_head * d]; query head h reads kv
    head h // (n_head / n_kv); scores scaled by 1 / sqrt(d)."""
    s, n_head, d = q.shape
    group = n_head // k.shape[1]
    k = np.repeat(k, group, axis=1).transpose(1, 2, 0)  # [n_head, d, s]
    v = np.repeat(v, group, axis=1).transpose(1, 0, 2)  # [n_head, s, d]
    scores = (q.transpose(1, 0, 2) @ k) / np.sqrt(d)  # [n_head, s, s]
    scores = np.where(np.tril(np.ones((s, s), dtype=bool)), scores, -np.inf)
    out = softmax(scores) @ v  # [n_head, s, d]
    return out.transpose(1, 0, 2).reshape(s, n_head * d)


def block(cfg, weights, il, x, cos, sin):
    """One transformer layer: attention then SwiGLU feed-forward, each with a residual add."""
    p = f"blk.{il}."
    s, d, rd = x.shape[0], cfg["head_dim"], cfg["rope_dim"]
    h = rms_norm(x, weights[p + "attn_norm.weight"], cfg["eps"])
    q = linear(weights, p + "attn_q", h).reshape(s, cfg["n_head"][il], d)
    k = linear(weights, p + "attn_k", h).reshape(s, cfg["n_kv"][il], d)
    v = linear(weights, p + "attn_v", h).reshape(s, cfg["n_kv"][il], -1)
    q, k = rope_norm(q, cos, sin, rd), rope_norm(k, cos, sin, rd)
    x = x + linear(weights, p + "attn_output", attention(q, k, v))
    h = rms_norm(x, weights[p + "ffn_norm.weight"], cfg["eps"])
    gate = linear(weights, p + "ffn_gate", h)
    act = gate / (1.0 + np.exp(-gate)) * linear(weights, p + "ffn_up", h)
    return x + linear(weights, p + "ffn_down", act)


def forward(cfg, weights, tokens, last_only=False):
    """Logits float64 [len(tokens), n_vocab] (or [1, n_vocab] with last_only)."""
    x = weights["token_embd.weight"][np.asarray(tokens, dtype=np.int64)]
    cos, sin = rope_tables(cfg, weights, len(tokens))
    for il in range(cfg["n_layer"]):
        x = block(cfg, weights, il, x, cos, sin)
    if last_only:
        x = x[-1:]
    x = rms_norm(x, weights["output_norm.weight"], cfg["eps"])
    head = weights.get("output.weight", weights["token_embd.weight"])
    return x @ head.T


def greedy(cfg, weights, tokens, n):
    """n tokens generated greedily after `tokens` (the whole sequence is recomputed each step)."""
    seq = list(tokens)
    for _ in range(n):
        seq.append(int(np.argmax(forward(cfg, weights, seq, last_only=True)[0])))
    return seq[len(tokens):]


def parse_args(argv):
    """Command-line arguments."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="GGUF file (LLAMA architecture)")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--out", help="write the logits to this .npy file")
    ap.add_argument("--out-f32", help="write the logits as raw little-endian f32, row-major [tokens, vocab]")
    ap.add_argument("--last-only", action="store_true", help="write only the last position")
    ap.add_argument("--greedy", type=int, default=0, metavar="N",
                    help="also generate N tokens greedily after the prompt")
    args = ap.parse_args(argv)
    args.tokens = [int(t) for t in args.tokens.split(",") if t.strip()]
    if not args.tokens:
        ap.error("--tokens is empty")
    return args


def main(argv):
    """Runs the reference and prints the JSON summary."""
    args = parse_args(argv)
    reader = GGUFReader(args.model)
    cfg = load_config(reader)
    weights = load_weights(reader)
    logits = forward(cfg, weights, args.tokens)
    if args.out:
        np.save(args.out, logits[-1:] if args.last_only else logits)
    if args.out_f32:
        (logits[-1:] if args.last_only else logits).astype("<f4").tofile(args.out_f32)
    result = {
        "argmax": [int(i) for i in np.argmax(logits, axis=-1)],
        "n_vocab": int(logits.shape[1]),
        "n_layer": cfg["n_layer"],
    }
    if args.greedy:
        result["greedy"] = greedy(cfg, weights, args.tokens, args.greedy)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
