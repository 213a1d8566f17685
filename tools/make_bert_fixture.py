#!/usr/bin/python3
"""Tiny random BERT and GroupBERT checkpoints with PyTorch reference outputs.

Writes test/fixtures/bert-tiny/:
  config.json         Hugging Face BertConfig fields (model_type bert, architectures BertForPreTraining)
  model.safetensors   BertForPreTraining weights under Hugging Face's names, F32, written by hand below
                      (no `safetensors` package here). As transformers' save_pretrained does, the tied
                      cls.predictions.decoder.{weight,bias} are left out: they are the word embeddings and
                      cls.predictions.bias.
  expected.safetensors
                      input_ids, token_type_ids, attention_mask (I32 [2, 10]; the second row is padded),
                      prediction_logits F32 [2, 10, vocab], seq_relationship_logits F32 [2, 2],
                      last_hidden_state F32 [2, 10, hidden]

test/fixtures/groupbert-tiny/ holds the same files for GroupBERT (Chelombiev et al. 2021) under thrifty's
parameter names (config.json is thrifty's GroupBertConfig): layers of pre-norm residual modules conv -> ffn ->
attention -> ffn and a final LayerNorm; conv = GLU (dense H -> 2H, a * sigmoid(b)), padding zeroed, grouped
Conv1d (16 channels per group, kernel 7, padding 3), LayerNorm, SiLU, dense H -> H; ffn = dense H -> 4H, GELU,
down-projection in 4 groups (weight [G, 4H/G, H/G]), dense H -> H mixer. There is no reference GroupBERT
package, so this forward is written from the paper with torch's own conv1d and glu.

The `transformers` package is not available here, so the forward is a plain torch re-implementation of
transformers' BertForPreTraining (4.3x, eager attention, hidden_act 'gelu' = exact erf GELU), kept line by
line close to it. It runs in float64 on float32-representable weights. Weights are N(0, 0.2^2) (larger than
BERT's 0.02, so that a mistake anywhere changes the logits visibly); LayerNorm weights are 1 + N(0, 0.1^2).

Usage (from the repository root): /usr/bin/python3 tools/make_bert_fixture.py
Needs Debian's python3-torch (1.13); `npm test` never runs this.
"""

import json
import math
import os
import struct

import torch

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'bert-tiny')
SEED = 20240605

CONFIG = {
    'architectures': ['BertForPreTraining'],
    'model_type': 'bert',
    'vocab_size': 64,
    'hidden_size': 32,
    'num_hidden_layers': 2,
    'num_attention_heads': 4,
    'intermediate_size': 64,
    'hidden_act': 'gelu',
    'hidden_dropout_prob': 0.1,
    'attention_probs_dropout_prob': 0.1,
    'max_position_embeddings': 16,
    'type_vocab_size': 2,
    'initializer_range': 0.02,
    'layer_norm_eps': 1e-12,
    'pad_token_id': 0,
    'position_embedding_type': 'absolute',
}


def write_safetensors(path, tensors, metadata=None):
    """The format: u64 little-endian header length, JSON header (padded with spaces to 8 bytes), data."""
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


def make_weights(gen):
    c = CONFIG
    h, inner, v = c['hidden_size'], c['intermediate_size'], c['vocab_size']

    def rnd(*shape, std=0.2, mean=0.0):
        # float32 draws, so that storing them as F32 loses nothing; the forward runs in float64.
        return (torch.randn(*shape, generator=gen, dtype=torch.float32) * std + mean).to(torch.float64)

    w = {}
    w['bert.embeddings.word_embeddings.weight'] = rnd(v, h)
    w['bert.embeddings.position_embeddings.weight'] = rnd(c['max_position_embeddings'], h)
    w['bert.embeddings.token_type_embeddings.weight'] = rnd(c['type_vocab_size'], h)
    w['bert.embeddings.LayerNorm.weight'] = rnd(h, std=0.1, mean=1.0)
    w['bert.embeddings.LayerNorm.bias'] = rnd(h, std=0.1)
    for i in range(c['num_hidden_layers']):
        p = f'bert.encoder.layer.{i}.'
        for name in ('query', 'key', 'value'):
            w[p + f'attention.self.{name}.weight'] = rnd(h, h)
            w[p + f'attention.self.{name}.bias'] = rnd(h, std=0.1)
        w[p + 'attention.output.dense.weight'] = rnd(h, h)
        w[p + 'attention.output.dense.bias'] = rnd(h, std=0.1)
        w[p + 'attention.output.LayerNorm.weight'] = rnd(h, std=0.1, mean=1.0)
        w[p + 'attention.output.LayerNorm.bias'] = rnd(h, std=0.1)
        w[p + 'intermediate.dense.weight'] = rnd(inner, h)
        w[p + 'intermediate.dense.bias'] = rnd(inner, std=0.1)
        w[p + 'output.dense.weight'] = rnd(h, inner)
        w[p + 'output.dense.bias'] = rnd(h, std=0.1)
        w[p + 'output.LayerNorm.weight'] = rnd(h, std=0.1, mean=1.0)
        w[p + 'output.LayerNorm.bias'] = rnd(h, std=0.1)
    w['bert.pooler.dense.weight'] = rnd(h, h)
    w['bert.pooler.dense.bias'] = rnd(h, std=0.1)
    w['cls.predictions.bias'] = rnd(v, std=0.1)
    w['cls.predictions.transform.dense.weight'] = rnd(h, h)
    w['cls.predictions.transform.dense.bias'] = rnd(h, std=0.1)
    w['cls.predictions.transform.LayerNorm.weight'] = rnd(h, std=0.1, mean=1.0)
    w['cls.predictions.transform.LayerNorm.bias'] = rnd(h, std=0.1)
    w['cls.seq_relationship.weight'] = rnd(2, h)
    w['cls.seq_relationship.bias'] = rnd(2, std=0.1)
    return w


def linear(x, w, prefix):
    return x @ w[prefix + '.weight'].T + w[prefix + '.bias']


def layer_norm(x, w, prefix):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w[prefix + '.weight'], w[prefix + '.bias'], CONFIG['layer_norm_eps'])


def gelu(x):
    # transformers' ACT2FN['gelu'] is the exact form: x * 0.5 * (1 + erf(x / sqrt(2))).
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def bert_for_pretraining(w, input_ids, token_type_ids, attention_mask):
    c = CONFIG
    batch, seq = input_ids.shape
    heads = c['num_attention_heads']
    head_dim = c['hidden_size'] // heads
    # BertEmbeddings (absolute positions 0..seq-1)
    position_ids = torch.arange(seq).unsqueeze(0)
    x = (w['bert.embeddings.word_embeddings.weight'][input_ids]
         + w['bert.embeddings.token_type_embeddings.weight'][token_type_ids]
         + w['bert.embeddings.position_embeddings.weight'][position_ids])
    x = layer_norm(x, w, 'bert.embeddings.LayerNorm')
    # get_extended_attention_mask: (1 - mask) * finfo.min, broadcast [B, 1, 1, S]
    extended = (1.0 - attention_mask[:, None, None, :].to(torch.float64)) * torch.finfo(torch.float64).min

    def split_heads(t):
        return t.view(batch, seq, heads, head_dim).permute(0, 2, 1, 3)

    for i in range(c['num_hidden_layers']):
        p = f'bert.encoder.layer.{i}.'
        # BertSelfAttention
        q = split_heads(linear(x, w, p + 'attention.self.query'))
        k = split_heads(linear(x, w, p + 'attention.self.key'))
        v = split_heads(linear(x, w, p + 'attention.self.value'))
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + extended
        probs = torch.softmax(scores, dim=-1)
        context = (probs @ v).permute(0, 2, 1, 3).reshape(batch, seq, c['hidden_size'])
        # BertSelfOutput
        attn = layer_norm(linear(context, w, p + 'attention.output.dense') + x, w, p + 'attention.output.LayerNorm')
        # BertIntermediate, BertOutput
        inner = gelu(linear(attn, w, p + 'intermediate.dense'))
        x = layer_norm(linear(inner, w, p + 'output.dense') + attn, w, p + 'output.LayerNorm')
    last_hidden_state = x
    # BertPooler
    pooled = torch.tanh(linear(x[:, 0], w, 'bert.pooler.dense'))
    # BertPreTrainingHeads: BertLMPredictionHead (transform, tied decoder + bias), seq_relationship
    t = layer_norm(gelu(linear(x, w, 'cls.predictions.transform.dense')), w, 'cls.predictions.transform.LayerNorm')
    prediction_logits = t @ w['bert.embeddings.word_embeddings.weight'].T + w['cls.predictions.bias']
    seq_relationship_logits = linear(pooled, w, 'cls.seq_relationship')
    return prediction_logits, seq_relationship_logits, last_hidden_state


GROUPBERT_CONFIG = {
    'vocabSize': 64, 'hiddenSize': 32, 'numLayers': 2, 'numHeads': 4, 'intermediateSize': 128,
    'maxPositions': 16, 'typeVocabSize': 2, 'hiddenDropout': 0.1, 'attentionDropout': 0.1,
    'layerNormEps': 1e-12, 'hiddenAct': 'gelu', 'initializerRange': 0.02,
    'moduleOrder': ['conv', 'ffn', 'attention', 'ffn'], 'norm': 'pre', 'convKernelSize': 7, 'convGroupSize': 16,
    'ffnGroups': 4, 'ffnMixer': True,
}


def make_groupbert_weights(gen):
    c = GROUPBERT_CONFIG
    h, inner, v, g = c['hiddenSize'], c['intermediateSize'], c['vocabSize'], c['ffnGroups']
    k, gs = c['convKernelSize'], c['convGroupSize']

    def rnd(*shape, std=0.2, mean=0.0):
        return (torch.randn(*shape, generator=gen, dtype=torch.float32) * std + mean).to(torch.float64)

    def norm(prefix):
        w[prefix + '.weight'] = rnd(h, std=0.1, mean=1.0)
        w[prefix + '.bias'] = rnd(h, std=0.1)

    def dense(prefix, out_features, in_features):
        w[prefix + '.weight'] = rnd(out_features, in_features)
        w[prefix + '.bias'] = rnd(out_features, std=0.1)

    w = {}
    w['groupbert.embeddings.word_embeddings.weight'] = rnd(v, h)
    w['groupbert.embeddings.position_embeddings.weight'] = rnd(c['maxPositions'], h)
    w['groupbert.embeddings.token_type_embeddings.weight'] = rnd(c['typeVocabSize'], h)
    norm('groupbert.embeddings.LayerNorm')
    for i in range(c['numLayers']):
        p = f'groupbert.encoder.layer.{i}.'
        norm(p + 'conv.norm')
        dense(p + 'conv.body.glu', 2 * h, h)
        w[p + 'conv.body.conv.weight'] = rnd(h, gs, k, std=0.3)
        w[p + 'conv.body.conv.bias'] = rnd(h, std=0.1)
        norm(p + 'conv.body.norm')
        dense(p + 'conv.body.output', h, h)
        for ffn in ('ffn1', 'ffn2'):
            norm(p + ffn + '.norm')
            dense(p + ffn + '.body.up', inner, h)
            w[p + ffn + '.body.down.weight'] = rnd(g, inner // g, h // g)
            w[p + ffn + '.body.down.bias'] = rnd(h, std=0.1)
            dense(p + ffn + '.body.mixer', h, h)
        norm(p + 'attention.norm')
        for name in ('query', 'key', 'value'):
            dense(p + f'attention.body.self.{name}', h, h)
        dense(p + 'attention.body.output', h, h)
    norm('groupbert.encoder.final_norm')
    dense('groupbert.pooler.dense', h, h)
    w['cls.predictions.bias'] = rnd(v, std=0.1)
    dense('cls.predictions.transform.dense', h, h)
    norm('cls.predictions.transform.LayerNorm')
    dense('cls.seq_relationship', 2, h)
    return w


def groupbert_for_pretraining(w, input_ids, token_type_ids, attention_mask):
    c = GROUPBERT_CONFIG
    batch, seq = input_ids.shape
    h, heads, g = c['hiddenSize'], c['numHeads'], c['ffnGroups']
    head_dim = h // heads
    eps = c['layerNormEps']

    def ln(x, prefix):
        return torch.nn.functional.layer_norm(x, (h,), w[prefix + '.weight'], w[prefix + '.bias'], eps)

    position_ids = torch.arange(seq).unsqueeze(0)
    x = (w['groupbert.embeddings.word_embeddings.weight'][input_ids]
         + w['groupbert.embeddings.token_type_embeddings.weight'][token_type_ids]
         + w['groupbert.embeddings.position_embeddings.weight'][position_ids])
    x = ln(x, 'groupbert.embeddings.LayerNorm')
    extended = (1.0 - attention_mask[:, None, None, :].to(torch.float64)) * torch.finfo(torch.float64).min
    keep = attention_mask[:, :, None].to(torch.float64)

    def conv_module(t, p):
        a = torch.nn.functional.glu(linear(t, w, p + 'glu'), dim=-1) * keep      # [B, S, H]
        y = torch.nn.functional.conv1d(a.transpose(1, 2), w[p + 'conv.weight'], w[p + 'conv.bias'],
                                       padding=c['convKernelSize'] // 2, groups=h // c['convGroupSize'])
        y = ln(y.transpose(1, 2), p + 'norm')
        return linear(torch.nn.functional.silu(y), w, p + 'output')

    def ffn_module(t, p):
        up = gelu(linear(t, w, p + 'up'))                                             # [B, S, I]
        grouped = up.view(batch, seq, g, -1)
        down = torch.einsum('bsgi,gio->bsgo', grouped, w[p + 'down.weight']).reshape(batch, seq, h) + w[p + 'down.bias']
        return linear(down, w, p + 'mixer')

    def attention_module(t, p):
        def split_heads(u):
            return u.view(batch, seq, heads, head_dim).permute(0, 2, 1, 3)
        q = split_heads(linear(t, w, p + 'self.query'))
        k = split_heads(linear(t, w, p + 'self.key'))
        v = split_heads(linear(t, w, p + 'self.value'))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head_dim) + extended, dim=-1)
        context = (probs @ v).permute(0, 2, 1, 3).reshape(batch, seq, h)
        return linear(context, w, p + 'output')

    bodies = {'conv': conv_module, 'ffn1': ffn_module, 'attention': attention_module, 'ffn2': ffn_module}
    for i in range(c['numLayers']):
        for name in ('conv', 'ffn1', 'attention', 'ffn2'):
            p = f'groupbert.encoder.layer.{i}.{name}.'
            x = x + bodies[name](ln(x, p + 'norm'), p + 'body.')
    x = ln(x, 'groupbert.encoder.final_norm')
    last_hidden_state = x
    pooled = torch.tanh(linear(x[:, 0], w, 'groupbert.pooler.dense'))
    t = ln(gelu(linear(x, w, 'cls.predictions.transform.dense')), 'cls.predictions.transform.LayerNorm')
    prediction_logits = t @ w['groupbert.embeddings.word_embeddings.weight'].T + w['cls.predictions.bias']
    seq_relationship_logits = linear(pooled, w, 'cls.seq_relationship')
    return prediction_logits, seq_relationship_logits, last_hidden_state


def save_fixture(folder, config, weights, inputs, outputs):
    input_ids, token_type_ids, attention_mask = inputs
    prediction_logits, seq_relationship_logits, last_hidden_state = outputs
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')
    write_safetensors(os.path.join(folder, 'model.safetensors'),
                      [(k, v.to(torch.float32)) for k, v in weights.items()], {'format': 'pt'})
    write_safetensors(os.path.join(folder, 'expected.safetensors'), [
        ('input_ids', input_ids.to(torch.int32)),
        ('token_type_ids', token_type_ids.to(torch.int32)),
        ('attention_mask', attention_mask.to(torch.int32)),
        ('prediction_logits', prediction_logits.to(torch.float32)),
        ('seq_relationship_logits', seq_relationship_logits.to(torch.float32)),
        ('last_hidden_state', last_hidden_state.to(torch.float32)),
    ])


def main():
    gen = torch.Generator().manual_seed(SEED)
    weights = make_weights(gen)
    seq = 10
    input_ids = torch.randint(1, CONFIG['vocab_size'], (2, seq), generator=gen)
    input_ids[:, 0] = 2  # a [CLS]-like first token
    token_type_ids = torch.zeros(2, seq, dtype=torch.long)
    token_type_ids[0, 6:] = 1
    token_type_ids[1, 4:7] = 1
    attention_mask = torch.ones(2, seq, dtype=torch.long)
    attention_mask[1, 7:] = 0  # three padding positions in the second row
    input_ids[1, 7:] = CONFIG['pad_token_id']
    token_type_ids[1, 7:] = 0
    inputs = (input_ids, token_type_ids, attention_mask)
    save_fixture(FOLDER, CONFIG, weights, inputs, bert_for_pretraining(weights, *inputs))
    group_weights = make_groupbert_weights(gen)
    group_folder = os.path.join(os.path.dirname(FOLDER), 'groupbert-tiny')
    save_fixture(group_folder, GROUPBERT_CONFIG, group_weights, inputs, groupbert_for_pretraining(group_weights, *inputs))
    print(f'wrote {FOLDER} and {group_folder}: torch {torch.__version__}, seed {SEED}')


if __name__ == '__main__':
    main()
