#!/usr/bin/env python3
"""Writes test/eval/fixtures/porter-nltk.tsv: words and their stems by NLTK's PorterStemmer()
(NLTK_EXTENSIONS, the mode rouge-score uses), the oracle for src/eval/rouge.ts.

Usage: python3 tools/eval-porter-fixture.py NLTK_DIR DATA_DIR > test/eval/fixtures/porter-nltk.tsv
NLTK_DIR holds nltk/stem/porter.py (e.g. unzipped from the nltk 3.10.3 wheel); only that module is
loaded, with nltk.stem.api stubbed, so nltk's other dependencies are not needed.
Vocabulary: the classic examples of Porter's paper, then every 4th distinct lower-case word of
qa/cnn_dailymail/cnn_validation_15.jsonl and text/wikitext-2-raw/wiki.test.raw (sorted).
"""
import importlib.util, json, re, sys, types

nltk_dir, data_dir = sys.argv[1], sys.argv[2]
api = types.ModuleType("nltk.stem.api")
class StemmerI:  # the stub the porter module subclasses
    pass
api.StemmerI = StemmerI
for name in ("nltk", "nltk.stem"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["nltk.stem.api"] = api
spec = importlib.util.spec_from_file_location("porter", f"{nltk_dir}/nltk/stem/porter.py")
porter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(porter)
stemmer = porter.PorterStemmer()

classic = """caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled
sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational
valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization
predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti
triplicate formative formalize electriciti electrical hopeful goodness revival allowance inference
airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou
communism activate angulariti homologous effective bowdlerize probate rate cease controll roll dies
died spied flies enjoy spy fly try generously dying lying tying news innings outings cannings howe
proceed exceed succeed geology archaeology theology yyyy""".split()
words = set()
with open(f"{data_dir}/qa/cnn_dailymail/cnn_validation_15.jsonl") as f:
    for line in f:
        row = json.loads(line)
        words.update(re.findall(r"[a-z0-9]+", (row["article"] + " " + row["highlights"]).lower()))
with open(f"{data_dir}/text/wikitext-2-raw/wiki.test.raw") as f:
    words.update(re.findall(r"[a-z0-9]+", f.read().lower()))
vocabulary = classic + [w for i, w in enumerate(sorted(words - set(classic))) if i % 4 == 0]
for word in vocabulary:
    print(f"{word}\t{stemmer.stem(word)}")
