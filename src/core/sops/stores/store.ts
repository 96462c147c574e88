/**
 * What each SOPS store (YAML, JSON, dotenv, INI, binary) gives the document layer: the tree of a
 * text with the spans of its scalars and comments, where its `sops` metadata is, and how a value
 * is written at a place of the text. Text outside those spans is never rewritten.
 */
import { KmsEnvelopeError } from '../../errors';
import type { Branch, Comment, Leaf, Span } from '../tree';
import type { Plain } from '../value';

export type StoreName = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

export interface MetadataText {
  /** The metadata as a map (unflattened for dotenv and INI). */
  readonly value: unknown;
  /** The spans the metadata occupies, left out of the plaintext view. */
  readonly spans: readonly Span[];
  /** The spans of the `lastmodified` and `mac` values, which a save rewrites. */
  readonly lastModified: Span;
  readonly mac: Span;
}

export interface Parsed {
  readonly roots: readonly Branch[];
  readonly metadata?: MetadataText;
}

export interface SopsStore {
  readonly name: StoreName;
  /** Reads a text (a file, or the plaintext view); `name` is for messages. */
  parse(text: string, name: string): Parsed;
  /** The text of a value at a scalar's place: a plaintext (the view) or an `ENC[…]` string (the file). */
  valueText(leaf: Leaf, value: Plain | string): string;
  /** The text of a comment's span (its leader included). */
  commentText(comment: Comment, text: string): string;
  /** How a `lastmodified` or `mac` value is written in the metadata, in the style of the one it replaces. */
  metadataScalar(text: string, replaced: string): string;
  /**
   * Where the metadata goes back into a plaintext view being sealed, and the text to insert there
   * (the metadata's original text, as a file had it).
   */
  placeMetadata(view: string, parsed: Parsed, metadata: string): { at: number; text: string };
}

/** How deep a document may nest: a committed file must not exhaust the stack of whoever opens it. */
export const MAX_DEPTH = 100;

/** Runs a parse, turning a stack overflow (a document nested past what a parser recurses through) into a refusal. */
export function withinStack<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof RangeError) throw new KmsEnvelopeError('FORMAT', `${name}: nested too deeply to read`, `A SOPS document nests at most ${MAX_DEPTH} levels here.`);
    throw err;
  }
}
