#!/usr/bin/python3
"""The PyTorch peer of `thrifty bench train`: one masked-LM pre-training step (forward, backward,
AdamW update) of BERT or GroupBERT on CPU, timed the same way (median of timed steps after warm-up).

The models are plain torch modules written like thrifty's (src/models/bert.ts, groupbert.ts): the same
configuration (passed on the command line, so the sizes come from thrifty's presets), the masked-LM head
run on the masked positions only, next-sentence head on the first token, cross-entropy, global
gradient-norm clipping at 1 and AdamW. Batches are random token ids with 15% of positions masked.

Usage: /usr/bin/python3 tools/bench_train_torch.py --arch bert --layers 4 --hidden 256 --heads 4 \
         --intermediate 1024 --vocab 30522 --batch 8 --seq 128 --threads 1 --steps 5 [--json]
Prints one JSON object: {"impl": "pytorch", "torch": version, "threads": n, "msPerStep": [..], "medianMs": m}.
Needs Debian's python3-torch; `npm test` never runs this.
"""

import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SelfAttention(nn.Module):
    def __init__(self, h, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)

    def forward(self, x, bias):
        b, s, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(b, s, self.heads, d).permute(0, 2, 1, 3)

        q = split(self.query(x) / math.sqrt(d))
        k = split(self.key(x))
        v = split(self.value(x))
        probs = torch.softmax(q @ k.transpose(-1, -2) + bias, dim=-1)
        return (probs @ v).permute(0, 2, 1, 3).reshape(b, s, h)


class BertLayer(nn.Module):
    def __init__(self, h, heads, inner):
        super().__init__()
        self.attention = SelfAttention(h, heads)
        self.attention_output = nn.Linear(h, h)
        self.attention_norm = nn.LayerNorm(h, eps=1e-12)
        self.intermediate = nn.Linear(h, inner)
        self.output = nn.Linear(inner, h)
        self.output_norm = nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, bias):
        a = self.attention_norm(self.attention_output(self.attention(x, bias)) + x)
        return self.output_norm(self.output(F.gelu(self.intermediate(a))) + a)


class GroupedLinear(nn.Module):
    def __init__(self, n_in, n_out, groups):
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(torch.randn(groups, n_in // groups, n_out // groups) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        lead = x.shape[:-1]
        xg = x.reshape(-1, self.groups, x.shape[-1] // self.groups).transpose(0, 1)   # [G, N, in/G]
        y = torch.bmm(xg, self.weight).transpose(0, 1).reshape(*lead, -1)
        return y + self.bias


class GroupBertLayer(nn.Module):
    def __init__(self, h, heads, inner, groups=4, kernel=7, group_size=16):
        super().__init__()
        self.norms = nn.ModuleList([nn.LayerNorm(h, eps=1e-12) for _ in range(4)])
        self.glu = nn.Linear(h, 2 * h)
        self.conv = nn.Conv1d(h, h, kernel, padding=kernel // 2, groups=h // group_size)
        self.conv_norm = nn.LayerNorm(h, eps=1e-12)
        self.conv_out = nn.Linear(h, h)
        self.ffn = nn.ModuleList([nn.ModuleDict({'up': nn.Linear(h, inner), 'down': GroupedLinear(inner, h, groups), 'mixer': nn.Linear(h, h)}) for _ in range(2)])
        self.attention = SelfAttention(h, heads)
        self.attention_output = nn.Linear(h, h)

    def forward(self, x, bias, keep):
        a = F.glu(self.glu(self.norms[0](x)), dim=-1) * keep
        c = self.conv(a.transpose(1, 2)).transpose(1, 2)
        x = x + self.conv_out(F.silu(self.conv_norm(c)))
        f = self.ffn[0]
        x = x + f['mixer'](f['down'](F.gelu(f['up'](self.norms[1](x)))))
        x = x + self.attention_output(self.attention(self.norms[2](x), bias))
        f = self.ffn[1]
        return x + f['mixer'](f['down'](F.gelu(f['up'](self.norms[3](x)))))


class PreTrainingModel(nn.Module):
    def __init__(self, arch, layers, h, heads, inner, vocab, positions):
        super().__init__()
        self.arch = arch
        self.word = nn.Embedding(vocab, h)
        self.position = nn.Embedding(positions, h)
        self.token_type = nn.Embedding(2, h)
        self.embedding_norm = nn.LayerNorm(h, eps=1e-12)
        make = BertLayer if arch == 'bert' else GroupBertLayer
        self.layers = nn.ModuleList([make(h, heads, inner) for _ in range(layers)])
        self.final_norm = nn.LayerNorm(h, eps=1e-12) if arch == 'groupbert' else None
        self.pooler = nn.Linear(h, h)
        self.transform = nn.Linear(h, h)
        self.transform_norm = nn.LayerNorm(h, eps=1e-12)
        self.decoder_bias = nn.Parameter(torch.zeros(vocab))
        self.nsp = nn.Linear(h, 2)

    def forward(self, ids, types, mask, positions):
        b, s = ids.shape
        x = self.embedding_norm(self.word(ids) + self.position.weight[:s] + self.token_type(types))
        bias = (1.0 - mask[:, None, None, :].float()) * -1e9
        keep = mask[:, :, None].float()
        for layer in self.layers:
            x = layer(x, bias) if self.arch == 'bert' else layer(x, bias, keep)
        if self.final_norm is not None:
            x = self.final_norm(x)
        picked = x.reshape(b * s, -1)[positions]
        t = self.transform_norm(F.gelu(self.transform(picked)))
        mlm_logits = t @ self.word.weight.T + self.decoder_bias
        nsp_logits = self.nsp(torch.tanh(self.pooler(x[:, 0])))
        return mlm_logits, nsp_logits


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--arch', choices=['bert', 'groupbert'], default='bert')
    for name in ('layers', 'hidden', 'heads', 'intermediate', 'vocab'):
        p.add_argument(f'--{name}', type=int, required=True)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--seq', type=int, default=128)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--json', action='store_true')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = PreTrainingModel(a.arch, a.layers, a.hidden, a.heads, a.intermediate, a.vocab, max(512, a.seq))
    decay = [q for n, q in model.named_parameters() if q.dim() > 1]
    no_decay = [q for n, q in model.named_parameters() if q.dim() <= 1]
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0.0}], lr=1e-4)
    gen = torch.Generator().manual_seed(1)

    def batch():
        ids = torch.randint(5, a.vocab, (a.batch, a.seq), generator=gen)
        selected = torch.rand(a.batch, a.seq, generator=gen) < 0.15
        positions = selected.reshape(-1).nonzero().squeeze(1)
        labels = ids.reshape(-1)[positions]
        ids = ids.masked_fill(selected, 4)
        types = torch.zeros_like(ids)
        types[:, a.seq // 2:] = 1
        mask = torch.ones_like(ids)
        nsp = torch.randint(0, 2, (a.batch,), generator=gen)
        return ids, types, mask, positions, labels, nsp

    times = []
    for step in range(a.warmup + a.steps):
        ids, types, mask, positions, labels, nsp = batch()
        t0 = time.perf_counter()
        mlm_logits, nsp_logits = model(ids, types, mask, positions)
        loss = F.cross_entropy(mlm_logits, labels) + F.cross_entropy(nsp_logits, nsp)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        elapsed = (time.perf_counter() - t0) * 1000
        if step >= a.warmup:
            times.append(elapsed)
    ordered = sorted(times)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    print(json.dumps({'impl': 'pytorch', 'torch': torch.__version__, 'arch': a.arch, 'threads': a.threads, 'msPerStep': times, 'medianMs': median}))


if __name__ == '__main__':
    main()
