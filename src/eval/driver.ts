// Runs one sample through an EvalModel as the reference harness does
// (graphcore-research/llm-inference-research llminference/eval_adapter.py greedy_sample and
// forced_sample, llminference/tasks/needle.py greedy_sample): the prompt is prefilled with dense
// attention (in chunks for needle) and its last logits give the first token; each further token
// is a policy decode step. Greedy generation runs for the sample's full length (no stop token),
// as the reference does; the output is then cut to the sample's keepTokens.

import { bitsPerCharacter, tokenNll } from './metrics.js';
import { prefillIds, scoreOutput, type GenerationSample, type TeacherForcedSample } from './prompts.js';
import type { EvalModel, EvalTokenizer, MeasuredTransfers } from './records.js';

/** Tokens kept free for the prompt's tail and the generation (eval_adapter.py max_prompt_and_generated_tokens). */
export const GENERATION_RESERVE = 256;

export interface SampleOutcome {
  readonly prefillTokens: number;
  readonly generated: readonly number[];
  readonly output: string;
  readonly score: number;
  readonly transfers: MeasuredTransfers;
}

/** Index of the largest logit (the first, on ties, as torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

function checkLogits(logits: Float32Array, model: EvalModel, what: string): Float32Array {
  if (logits.length !== model.vocabSize) throw new Error(`eval: ${what} returned ${logits.length} logits for a vocabulary of ${model.vocabSize}`);
  for (let i = 0; i < logits.length; i++) if (!Number.isFinite(logits[i]!)) throw new Error(`eval: ${what} returned a non-finite logit (${logits[i]} at ${i})`);
  return logits;
}

/** The prompt ids of a generation sample: tokenised with BOS and left-truncated (text), or as given (tokens). */
export function promptIds(sample: GenerationSample, tokenizer: EvalTokenizer, contextLength: number): number[] {
  if ('tokens' in sample.prompt) return [...sample.prompt.tokens];
  return prefillIds(tokenizer.encode(sample.prompt.text), tokenizer.bos, contextLength - GENERATION_RESERVE);
}

/** Greedy generation of one sample: dense prefill (first token), policy decode (the rest), score. */
export function runGenerationSample(model: EvalModel, tokenizer: EvalTokenizer, sample: GenerationSample): SampleOutcome {
  const ids = promptIds(sample, tokenizer, model.contextLength);
  if (ids.length === 0) throw new Error(`eval: sample ${sample.id} has an empty prompt`);
  if (ids.length + sample.maxNewTokens > model.contextLength) {
    throw new Error(`eval: sample ${sample.id}: ${ids.length} prompt tokens + ${sample.maxNewTokens} generated exceed the model's context of ${model.contextLength}`);
  }
  model.reset();
  const chunk = sample.prefillChunk ?? ids.length;
  let logits: Float32Array = new Float32Array(0);
  for (let t0 = 0; t0 < ids.length; t0 += chunk) logits = checkLogits(model.prefill(ids.slice(t0, t0 + chunk)), model, 'prefill');
  const generated: number[] = [];
  if (sample.maxNewTokens > 0) generated.push(argmax(logits));
  while (generated.length < sample.maxNewTokens) generated.push(argmax(checkLogits(model.decode(generated.at(-1)!), model, 'decode')));
  const output = tokenizer.decode(generated.slice(0, sample.keepTokens));
  return { prefillTokens: ids.length, generated, output, score: scoreOutput(sample, output), transfers: model.transfers() };
}

/**
 * Bits per character of one teacher-forced sample (forced_sample + calc_bpc): the first reference
 * token's NLL from the dense prefill's logits, each later one from a policy decode step fed the
 * previous reference token; characters counted as code points.
 */
export function runTeacherForcedSample(model: EvalModel, tokenizer: EvalTokenizer, sample: TeacherForcedSample): SampleOutcome & { readonly nll: readonly number[] } {
  const reference = tokenizer.encode(sample.reference);
  if (reference.length === 0) throw new Error(`eval: sample ${sample.id} has an empty reference`);
  if (reference.length > sample.maxReferenceTokens) {
    throw new Error(`eval: sample ${sample.id}: the reference has ${reference.length} tokens, over max_reference_tokens=${sample.maxReferenceTokens}`);
  }
  const ids = prefillIds(tokenizer.encode(sample.prefill), tokenizer.bos, model.contextLength - sample.maxReferenceTokens);
  model.reset();
  let logits = checkLogits(model.prefill(ids), model, 'prefill');
  const nll: number[] = [tokenNll(logits, reference[0]!)];
  for (let j = 1; j < reference.length; j++) {
    logits = checkLogits(model.decode(reference[j - 1]!), model, 'decode');
    nll.push(tokenNll(logits, reference[j]!));
  }
  const score = bitsPerCharacter(nll, Array.from(sample.reference).length);
  return { prefillTokens: ids.length, generated: [...reference], output: '', score, transfers: model.transfers(), nll };
}
