#!/usr/bin/python3
"""Tiny random GPT-2, GPT-NeoX and Llama checkpoints with PyTorch reference logits.

Writes Hugging Face model folders (config.json + model.safetensors, the safetensors written by
hand below) and expected.safetensors (input_ids I32 [2, T], logits F32 [2, T, vocab]) under
test/fixtures/{gpt2,gpt-neox,llama}-tiny/. The `transformers` package is not available here, so
the forwards are plain torch re-implementations of Hugging Face's GPT2LMHeadModel,
GPTNeoXForCausalLM and LlamaForCausalLM (transformers 4.3x), kept line by line close to them.
The reference runs in float64; the weights are stored as float32 (exactly representable).

Usage (from the repository root): /usr/bin/python3 tools/make_llm_fixtures.py
Needs Debian's python3-torch (1.13) and numpy; `npm test` never runs this.
"""

import json
import math
import os
import struct

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
SEQ = 12  # tokens per sequence
BATCH = 2


# ------------------------------------------------------------------------------------------------
# safetensors writer (the format: u64 LE header length, JSON header, data buffer)

def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors:
        t = t.contiguous()
        if t.dtype == torch.float32:
            dtype = 'F32'
        elif t.dtype == torch.int32:
            dtype = 'I32'
        else:
            raise ValueError(f'{name}: unsupported dtype {t.dtype}')
        data = t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header['__metadata__'] = metadata
    head = json.dumps(header, separators=(',', ':')).encode('utf-8')
    head += b' ' * ((8 - len(head) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)


def save_folder(name, config, weights, logits, ids):
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')
    write_safetensors(os.path.join(folder, 'model.safetensors'),
                      [(k, v.to(torch.float32)) for k, v in weights.items()], {'format': 'pt'})
    write_safetensors(os.path.join(folder, 'expected.safetensors'),
                      [('input_ids', ids.to(torch.int32)), ('logits', logits.to(torch.float32))])


# ------------------------------------------------------------------------------------------------
# shared pieces

def rnd(gen, *shape, std=0.2, mean=0.0):
    # float32 values, so that storing them as F32 loses nothing; the forward runs in float64.
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * std + mean).to(torch.float64)


def causal_softmax(scores):
    t = scores.shape[-1]
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    return torch.softmax(scores.masked_fill(mask, float('-inf')), dim=-1)


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def gelu_new(x):
    # transformers.activations.NewGELUActivation (GPT-2's "gelu_new")
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(dim, base, seq):
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    t = torch.arange(seq, dtype=torch.float64)
    freqs = torch.einsum('i,j->ij', t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos()[None, None], emb.sin()[None, None]  # [1, 1, T, dim]


# ------------------------------------------------------------------------------------------------
# GPT-2 (GPT2LMHeadModel): Conv1D weights [in, out], learned positions, tied lm_head

def gpt2(gen):
    cfg = {
        'architectures': ['GPT2LMHeadModel'], 'model_type': 'gpt2', 'vocab_size': 96, 'n_positions': 32,
        'n_embd': 32, 'n_layer': 2, 'n_head': 4, 'n_inner': None, 'activation_function': 'gelu_new',
        'layer_norm_epsilon': 1e-5, 'bos_token_id': 0, 'eos_token_id': 0, 'tie_word_embeddings': True,
    }
    d, v, n_pos, heads = cfg['n_embd'], cfg['vocab_size'], cfg['n_positions'], cfg['n_head']
    inner = 4 * d
    # Key names as in the hub's openai-community/gpt2 model.safetensors: no 'transformer.' prefix,
    # the causal-mask buffers h.N.attn.bias present (loaders must ignore them).
    w = {'wte.weight': rnd(gen, v, d, std=0.5), 'wpe.weight': rnd(gen, n_pos, d, std=0.3)}
    for i in range(cfg['n_layer']):
        p = f'h.{i}.'
        w[p + 'ln_1.weight'] = rnd(gen, d, std=0.1, mean=1.0)
        w[p + 'ln_1.bias'] = rnd(gen, d, std=0.1)
        w[p + 'attn.bias'] = torch.tril(torch.ones(n_pos, n_pos, dtype=torch.float64)).view(1, 1, n_pos, n_pos)
        w[p + 'attn.c_attn.weight'] = rnd(gen, d, 3 * d, std=0.3)
        w[p + 'attn.c_attn.bias'] = rnd(gen, 3 * d, std=0.1)
        w[p + 'attn.c_proj.weight'] = rnd(gen, d, d, std=0.2)
        w[p + 'attn.c_proj.bias'] = rnd(gen, d, std=0.1)
        w[p + 'ln_2.weight'] = rnd(gen, d, std=0.1, mean=1.0)
        w[p + 'ln_2.bias'] = rnd(gen, d, std=0.1)
        w[p + 'mlp.c_fc.weight'] = rnd(gen, d, inner, std=0.2)
        w[p + 'mlp.c_fc.bias'] = rnd(gen, inner, std=0.1)
        w[p + 'mlp.c_proj.weight'] = rnd(gen, inner, d, std=0.1)
        w[p + 'mlp.c_proj.bias'] = rnd(gen, d, std=0.1)
    w['ln_f.weight'] = rnd(gen, d, std=0.1, mean=1.0)
    w['ln_f.bias'] = rnd(gen, d, std=0.1)

    ids = torch.randint(0, v, (BATCH, SEQ), generator=gen)
    eps = cfg['layer_norm_epsilon']
    hd = d // heads
    h = w['wte.weight'][ids] + w['wpe.weight'][torch.arange(SEQ)][None]
    for i in range(cfg['n_layer']):
        p = f'h.{i}.'
        a = layer_norm(h, w[p + 'ln_1.weight'], w[p + 'ln_1.bias'], eps)
        qkv = a @ w[p + 'attn.c_attn.weight'] + w[p + 'attn.c_attn.bias']  # Conv1D: x W + b
        q, k, vv = qkv.split(d, dim=2)
        split = lambda t: t.view(BATCH, SEQ, heads, hd).permute(0, 2, 1, 3)
        q, k, vv = split(q), split(k), split(vv)
        att = causal_softmax(q @ k.transpose(-1, -2) / math.sqrt(hd)) @ vv
        att = att.permute(0, 2, 1, 3).reshape(BATCH, SEQ, d)
        h = h + (att @ w[p + 'attn.c_proj.weight'] + w[p + 'attn.c_proj.bias'])
        m = layer_norm(h, w[p + 'ln_2.weight'], w[p + 'ln_2.bias'], eps)
        m = gelu_new(m @ w[p + 'mlp.c_fc.weight'] + w[p + 'mlp.c_fc.bias'])
        h = h + (m @ w[p + 'mlp.c_proj.weight'] + w[p + 'mlp.c_proj.bias'])
    h = layer_norm(h, w['ln_f.weight'], w['ln_f.bias'], eps)
    logits = h @ w['wte.weight'].T  # tied lm_head
    save_folder('gpt2-tiny', cfg, w, logits, ids)


# ------------------------------------------------------------------------------------------------
# GPT-NeoX (GPTNeoXForCausalLM): fused query_key_value with rows [heads, 3, head_dim], partial
# rotary (rotary_pct) in the rotate_half layout, parallel residual, LayerNorm, untied embed_out

def gpt_neox(gen, name, parallel):
    cfg = {
        'architectures': ['GPTNeoXForCausalLM'], 'model_type': 'gpt_neox', 'vocab_size': 96,
        'hidden_size': 32, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'intermediate_size': 80,
        'hidden_act': 'gelu', 'rotary_pct': 0.5, 'rotary_emb_base': 10000, 'max_position_embeddings': 64,
        'layer_norm_eps': 1e-5, 'use_parallel_residual': parallel, 'tie_word_embeddings': False,
        'bos_token_id': 0, 'eos_token_id': 0,
    }
    d, v, heads, inner = cfg['hidden_size'], cfg['vocab_size'], cfg['num_attention_heads'], cfg['intermediate_size']
    hd = d // heads
    rot = int(hd * cfg['rotary_pct'])
    w = {'gpt_neox.embed_in.weight': rnd(gen, v, d, std=0.5)}
    for i in range(cfg['num_hidden_layers']):
        p = f'gpt_neox.layers.{i}.'
        w[p + 'input_layernorm.weight'] = rnd(gen, d, std=0.1, mean=1.0)
        w[p + 'input_layernorm.bias'] = rnd(gen, d, std=0.1)
        w[p + 'post_attention_layernorm.weight'] = rnd(gen, d, std=0.1, mean=1.0)
        w[p + 'post_attention_layernorm.bias'] = rnd(gen, d, std=0.1)
        w[p + 'attention.rotary_emb.inv_freq'] = 1.0 / (10000 ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot))
        w[p + 'attention.query_key_value.weight'] = rnd(gen, 3 * d, d, std=0.3)
        w[p + 'attention.query_key_value.bias'] = rnd(gen, 3 * d, std=0.1)
        w[p + 'attention.dense.weight'] = rnd(gen, d, d, std=0.2)
        w[p + 'attention.dense.bias'] = rnd(gen, d, std=0.1)
        w[p + 'mlp.dense_h_to_4h.weight'] = rnd(gen, inner, d, std=0.2)
        w[p + 'mlp.dense_h_to_4h.bias'] = rnd(gen, inner, std=0.1)
        w[p + 'mlp.dense_4h_to_h.weight'] = rnd(gen, d, inner, std=0.15)
        w[p + 'mlp.dense_4h_to_h.bias'] = rnd(gen, d, std=0.1)
    w['gpt_neox.final_layer_norm.weight'] = rnd(gen, d, std=0.1, mean=1.0)
    w['gpt_neox.final_layer_norm.bias'] = rnd(gen, d, std=0.1)
    w['embed_out.weight'] = rnd(gen, v, d, std=0.3)

    ids = torch.randint(0, v, (BATCH, SEQ), generator=gen)
    eps = cfg['layer_norm_eps']
    cos, sin = rope_cos_sin(rot, cfg['rotary_emb_base'], SEQ)
    lin = lambda x, n: x @ w[n + '.weight'].T + w[n + '.bias']
    h = w['gpt_neox.embed_in.weight'][ids]
    for i in range(cfg['num_hidden_layers']):
        p = f'gpt_neox.layers.{i}.'
        ln_in = layer_norm(h, w[p + 'input_layernorm.weight'], w[p + 'input_layernorm.bias'], eps)
        qkv = lin(ln_in, p + 'attention.query_key_value')
        qkv = qkv.view(BATCH, SEQ, heads, 3 * hd)
        q = qkv[..., :hd].permute(0, 2, 1, 3)
        k = qkv[..., hd:2 * hd].permute(0, 2, 1, 3)
        vv = qkv[..., 2 * hd:].permute(0, 2, 1, 3)
        q_rot, q_pass = q[..., :rot], q[..., rot:]
        k_rot, k_pass = k[..., :rot], k[..., rot:]
        q = torch.cat((q_rot * cos + rotate_half(q_rot) * sin, q_pass), dim=-1)
        k = torch.cat((k_rot * cos + rotate_half(k_rot) * sin, k_pass), dim=-1)
        att = causal_softmax(q @ k.transpose(-1, -2) / math.sqrt(hd)) @ vv
        att = att.permute(0, 2, 1, 3).reshape(BATCH, SEQ, d)
        att = lin(att, p + 'attention.dense')
        mlp = lambda x: lin(torch.nn.functional.gelu(lin(x, p + 'mlp.dense_h_to_4h')), p + 'mlp.dense_4h_to_h')
        post = lambda x: layer_norm(x, w[p + 'post_attention_layernorm.weight'], w[p + 'post_attention_layernorm.bias'], eps)
        if parallel:
            h = mlp(post(h)) + att + h
        else:
            h = att + h
            h = mlp(post(h)) + h
    h = layer_norm(h, w['gpt_neox.final_layer_norm.weight'], w['gpt_neox.final_layer_norm.bias'], eps)
    logits = h @ w['embed_out.weight'].T
    save_folder(name, cfg, w, logits, ids)


# ------------------------------------------------------------------------------------------------
# Llama (LlamaForCausalLM): RMSNorm, SwiGLU, rotate_half RoPE over the whole head, GQA (repeat_kv)

def llama(gen):
    cfg = {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'vocab_size': 96, 'hidden_size': 32,
        'intermediate_size': 56, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2,
        'hidden_act': 'silu', 'max_position_embeddings': 64, 'rms_norm_eps': 1e-5, 'rope_theta': 10000.0,
        'tie_word_embeddings': False, 'bos_token_id': 1, 'eos_token_id': 2,
    }
    d, v, heads, kv, inner = (cfg['hidden_size'], cfg['vocab_size'], cfg['num_attention_heads'],
                              cfg['num_key_value_heads'], cfg['intermediate_size'])
    hd = d // heads
    w = {'model.embed_tokens.weight': rnd(gen, v, d, std=0.5)}
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        w[p + 'input_layernorm.weight'] = rnd(gen, d, std=0.1, mean=1.0)
        w[p + 'self_attn.q_proj.weight'] = rnd(gen, heads * hd, d, std=0.3)
        w[p + 'self_attn.k_proj.weight'] = rnd(gen, kv * hd, d, std=0.3)
        w[p + 'self_attn.v_proj.weight'] = rnd(gen, kv * hd, d, std=0.3)
        w[p + 'self_attn.o_proj.weight'] = rnd(gen, d, heads * hd, std=0.2)
        w[p + 'post_attention_layernorm.weight'] = rnd(gen, d, std=0.1, mean=1.0)
        w[p + 'mlp.gate_proj.weight'] = rnd(gen, inner, d, std=0.25)
        w[p + 'mlp.up_proj.weight'] = rnd(gen, inner, d, std=0.25)
        w[p + 'mlp.down_proj.weight'] = rnd(gen, d, inner, std=0.15)
    w['model.norm.weight'] = rnd(gen, d, std=0.1, mean=1.0)
    w['lm_head.weight'] = rnd(gen, v, d, std=0.3)

    ids = torch.randint(0, v, (BATCH, SEQ), generator=gen)
    eps = cfg['rms_norm_eps']
    cos, sin = rope_cos_sin(hd, cfg['rope_theta'], SEQ)
    rms = lambda x, wt: wt * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
    h = w['model.embed_tokens.weight'][ids]
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        x = rms(h, w[p + 'input_layernorm.weight'])
        q = (x @ w[p + 'self_attn.q_proj.weight'].T).view(BATCH, SEQ, heads, hd).transpose(1, 2)
        k = (x @ w[p + 'self_attn.k_proj.weight'].T).view(BATCH, SEQ, kv, hd).transpose(1, 2)
        vv = (x @ w[p + 'self_attn.v_proj.weight'].T).view(BATCH, SEQ, kv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = heads // kv  # repeat_kv: query head h reads KV head h // rep
        k = k[:, :, None].expand(BATCH, kv, rep, SEQ, hd).reshape(BATCH, heads, SEQ, hd)
        vv = vv[:, :, None].expand(BATCH, kv, rep, SEQ, hd).reshape(BATCH, heads, SEQ, hd)
        att = causal_softmax(q @ k.transpose(-1, -2) / math.sqrt(hd)) @ vv
        att = att.transpose(1, 2).reshape(BATCH, SEQ, d)
        h = h + att @ w[p + 'self_attn.o_proj.weight'].T
        x = rms(h, w[p + 'post_attention_layernorm.weight'])
        gate = torch.nn.functional.silu(x @ w[p + 'mlp.gate_proj.weight'].T)
        h = h + (gate * (x @ w[p + 'mlp.up_proj.weight'].T)) @ w[p + 'mlp.down_proj.weight'].T
    h = rms(h, w['model.norm.weight'])
    logits = h @ w['lm_head.weight'].T
    save_folder('llama-tiny', cfg, w, logits, ids)


if __name__ == '__main__':
    torch.manual_seed(0)
    gpt2(torch.Generator().manual_seed(1))
    gpt_neox(torch.Generator().manual_seed(2), 'gpt-neox-tiny', parallel=True)
    gpt_neox(torch.Generator().manual_seed(3), 'gpt-neox-sequential-tiny', parallel=False)
    llama(torch.Generator().manual_seed(4))
    print('wrote', ROOT)
