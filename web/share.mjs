// Scenarios in a URL: a small scenario (a trace's operations, or the
// playground's steps) is written to the URL's hash so that a link
// reproduces it. The payload is JSON, deflated (CompressionStream
// 'deflate-raw', in browsers and Node >= 18) and base64url-encoded:
//
//   replay.html#t=<payload>   { v: 1, kind: 'trace', name, text }   (lmtrace v1 text)
//   index.html#s=<payload>    { v: 1, kind: 'steps', steps: [op, ...] } (session.mjs ops)
//
// A link is meant for a few hundred operations: encodeShare refuses
// payloads whose hash would pass MAX_HASH characters (browsers and chat
// programs cut long URLs), and says so.
//
// Pure: no DOM; the tests run it in Node.

export const MAX_HASH = 16000;
const VERSION = 1;

async function pipe(bytes, transform) {
  const stream = new Blob([bytes]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** base64url without padding. */
export function toBase64Url(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new ShareError('the link is damaged: it has characters base64url does not use');
  // A length of 4k + 1 is no base64 at all: a character was lost or added.
  if (text.length % 4 === 1) throw new ShareError('the link is damaged: it was cut short or a character was added (its length cannot be base64url)');
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export class ShareError extends Error {
  name = 'ShareError';
}

/** The hash value (without "#t=") for a scenario object. */
export async function encodeShare(scenario) {
  const json = JSON.stringify({ v: VERSION, ...scenario });
  const packed = toBase64Url(await pipe(new TextEncoder().encode(json), new CompressionStream('deflate-raw')));
  if (packed.length > MAX_HASH) {
    throw new ShareError(`this scenario is too large for a link (${packed.length} characters compressed, at most ${MAX_HASH}): export it as a file instead`);
  }
  return packed;
}

/** The scenario object a hash value encodes; ShareError when it is
 * damaged. Its messages are for the user (the page shows them as they
 * are): what is wrong with the link, never the decompressor's own words
 * ("Failed to fetch" in Chromium, "invalid stored block lengths" in Node). */
export async function decodeShare(packed) {
  if (!packed) throw new ShareError('the link is damaged: its data is missing');
  const bytes = fromBase64Url(packed);
  let json;
  try {
    json = new TextDecoder().decode(await pipe(bytes, new DecompressionStream('deflate-raw')));
  } catch {
    throw new ShareError('the link is damaged: its data does not decompress (it was cut short or changed; ask for the link again)');
  }
  let value;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ShareError('the link is damaged: its content is not JSON');
  }
  if (!value || typeof value !== 'object') throw new ShareError('the link is damaged: it holds no scenario');
  if (value.v !== VERSION) throw new ShareError(`the link was made by another version of the page (v${value.v}; this page reads v${VERSION})`);
  return value;
}

/** Reads "#k=v&k2=v2" into a Map. */
export function parseHash(hash) {
  const out = new Map();
  for (const part of String(hash ?? '').replace(/^#/, '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    out.set(eq < 0 ? part : part.slice(0, eq), eq < 0 ? '' : part.slice(eq + 1));
  }
  return out;
}
