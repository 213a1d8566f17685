#!/usr/bin/env python3
"""Golden WordPiece tokenizations for test/text/wordpiece.test.ts.

Writes test/fixtures/wordpiece/bert-base-uncased-golden.json: token strings and ids of
bert-base-uncased (../shared/data/tokenizers/bert-base-uncased/vocab.txt) for hand-picked
sentences (accents, punctuation, unknown words, ## pieces, CJK, control characters, literal
special tokens, over-long words), the ids of the first lines of three shared corpora, and the
sha256 of the little-endian int32 ids of each whole corpus.

The reference is Hugging Face transformers' slow tokenizer, BertTokenizerLegacy (the Python
port of google-research/bert's tokenization.py). The fast (Rust) BertTokenizer is run too and
every disagreement with the slow one is recorded in the fixture. Expected: only the Greek
sentence, since Python's str.lower() (like JavaScript's toLowerCase) turns a word-final capital
sigma into final sigma (ς) while the Rust normaliser lower-cases character by character (σ).

Not needed by `npm test`. To regenerate (the registry's transformers wheel, no torch needed):
    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install transformers tokenizers
    /tmp/tokvenv/bin/python tools/make_wordpiece_fixture.py [--data-dir ../shared/data]
"""

import argparse
import hashlib
import json
import os
import struct
import sys

import tokenizers
import transformers
from transformers import BertTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "wordpiece", "bert-base-uncased-golden.json")

SENTENCES = [
    "Hello, world!",
    "Héllo wörld, naïve café — déjà vu.",
    "The unaffable antidisestablishmentarianism of 1805's Prince Vasili Kuragin.",
    "北京大学 is in 北京. 日本語のテキスト",
    "你好，世界！",
    "Control\u0000chars\u0007 and\ttabs\r\nnew lines\u00a0nbsp\u2003em\u3000space",
    "Emoji 🤗 and 𠀀 (astral CJK) and \ufffd replacement",
    "[CLS] literal special tokens [MASK] mid[SEP]word [UNK] [unused0] [mask]",
    "a" * 101 + " " + "b" * 100,
    "ΟΔΟΣ Σίσυφος, Москва!",
    "Ünïcödé ＦＵＬＬＷＩＤＴＨ ﬁ ligature",
    "don't won't y'all $100 5% a+b=c ^_^ `code` ~tilde |pipe| <tag> {brace} [bracket]",
    "Mr. Smith's e-mail: smith@example.com, http://x.y/z?q=1&r=2",
    "안녕하세요 세계",
    "x\u0301y \u0301 e\u0301",
    "İstanbul ǅemal ẞ straße",
    "",
    "   \t\n  ",
    "line\u2028separator\u2029paragraph",
    "مرحبا بالعالم שלום",
    "soft\u00adhyphen zero\u200bwidth bom\ufeffmark",
    "«quoted» „German“ ‘single’ … ellipsis ¿qué? ¡sí!",
    "3.14159 1,000,000 2nd 21st-century",
    "Supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
]

# (relative path, number of leading lines whose ids are stored)
CORPUS_HEADS = [
    ("text/war-and-peace/war-and-peace.txt", 200),
    ("text/wikitext-2-raw/wiki.test.raw", 20),
    ("text/tinyshakespeare/input.txt", 300),
]
CORPUS_HASHES = [
    "text/war-and-peace/war-and-peace.txt",
    "text/wikitext-2-raw/wiki.test.raw",
    "text/tinyshakespeare/input.txt",
]


def ids_sha256(ids):
    return hashlib.sha256(struct.pack("<%di" % len(ids), *ids)).hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    args = parser.parse_args()
    vocab_path = os.path.join(args.data_dir, "tokenizers", "bert-base-uncased", "vocab.txt")
    with open(vocab_path, "rb") as f:
        vocab_sha = hashlib.sha256(f.read()).hexdigest()
    slow = BertTokenizerLegacy(vocab_path)
    fast = BertTokenizer(vocab_path)
    disagreements = []

    def encode(text, where):
        ids = slow.encode(text, add_special_tokens=False)
        fast_ids = fast.encode(text, add_special_tokens=False)
        if fast_ids != ids:
            disagreements.append(where)
        return ids

    cases = []
    for i, text in enumerate(SENTENCES):
        ids = encode(text, "sentence %d" % i)
        cases.append({
            "text": text,
            "tokens": slow.convert_ids_to_tokens(ids),
            "ids": ids,
            "decoded": slow.decode(ids),
        })
    pair = slow("The cat sat.", "It purred loudly!", return_token_type_ids=True)
    pair_case = {
        "a": "The cat sat.",
        "b": "It purred loudly!",
        "ids": pair["input_ids"],
        "tokenTypeIds": pair["token_type_ids"],
    }

    heads = []
    for rel, lines in CORPUS_HEADS:
        with open(os.path.join(args.data_dir, rel), encoding="utf-8", newline="") as f:
            text = "\n".join(f.read().split("\n")[:lines])
        heads.append({"path": rel, "lines": lines, "ids": encode(text, rel + " head")})

    hashes = []
    for rel in CORPUS_HASHES:
        with open(os.path.join(args.data_dir, rel), encoding="utf-8", newline="") as f:
            text = f.read()
        ids = encode(text, rel)
        hashes.append({"path": rel, "count": len(ids), "sha256": ids_sha256(ids)})
        print("%s: %d ids" % (rel, len(ids)), file=sys.stderr)

    fixture = {
        "provenance": {
            "generator": "tools/make_wordpiece_fixture.py",
            "reference": "transformers %s BertTokenizerLegacy (slow); fast BertTokenizer (tokenizers %s) checked"
            % (transformers.__version__, tokenizers.__version__),
            "python": sys.version.split()[0],
            "vocab": "tokenizers/bert-base-uncased/vocab.txt",
            "vocabSha256": vocab_sha,
            "fastDisagreements": disagreements,
        },
        "cases": cases,
        "pair": pair_case,
        "corpusHeads": heads,
        "corpusHashes": hashes,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("wrote %s; fast/slow disagreements: %s" % (OUT, disagreements or "none"), file=sys.stderr)


if __name__ == "__main__":
    main()
