// Block details as data: describeEntry(snapshot, i, bytes, log) returns the
// title, the rows of fields (address, sizes, decoded header, where it came
// from) and a hex dump, which app.mjs puts in the details panel. Pure.

import { binClassMax, binClassMin, formatBytes, hex } from './heap-layout.mjs';
import { nameOf } from './snapshot.mjs';

/** Lines of a hex dump of `bytes` starting at address `start`, 16 per line. */
export function hexDump(bytes, start) {
  const lines = [];
  for (let o = 0; o < bytes.length; o += 16) {
    const row = bytes.subarray(o, o + 16);
    const hexes = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${hex(start + o, 6)}  ${hexes.slice(0, 8).join(' ').padEnd(23)}  ${hexes.slice(8).join(' ').padEnd(23)}  |${text}|`);
  }
  return lines;
}

/** "0x00000131 = 304 | FREE | PREV_FREE" */
export function headerText(h) {
  const flags = [h.free && 'FREE', h.prevFree && 'PREV_FREE', h.slab && 'SLAB'].filter(Boolean);
  return `${hex(h.raw, 8)} = size ${h.size}${flags.length ? ` | ${flags.join(' | ')}` : ' (no flags: in use)'}`;
}

const stepText = (log, n) => {
  if (!n) return 'before the first step';
  const s = log?.[n - 1];
  return s ? `step ${n}: ${s.code}` : `step ${n}`;
};

/** Where an entry's dump starts (its header, or an object's first byte). */
export const dumpStart = (e) => (e.kind === 'object' ? e.ptr : e.header);

/**
 * @param snapshot Session.snapshot()
 * @param i        entry index
 * @param bytes    the first bytes of the entry, from dumpStart(e)
 * @param log      Session.log(), to name the step that allocated it
 */
export function describeEntry(snapshot, i, bytes, log) {
  const e = snapshot.entries[i];
  if (!e) return null;
  const rows = [];
  const row = (k, v) => rows.push([k, String(v)]);
  let title;
  let note = '';
  if (e.kind === 'object') {
    const slab = snapshot.entries[e.slab];
    title = e.used ? `object "${nameOf(e) ?? hex(e.ptr)}"` : 'free slab object';
    row('address', hex(e.ptr));
    if (e.used) {
      row('requested', `${e.requested ?? '?'} B`);
      row('usable', `${e.usable} B (the slab's object size)`);
      row('slack', `${e.usable - (e.requested ?? e.usable)} B`);
      row('allocated', stepText(log, e.step));
      if (e.resized) row('resized', stepText(log, e.resized));
      row('reachable', e.leaked ? 'NO: leaked (no named pointer or reachable block holds its address)' : 'yes');
    }
    row('slab', `${hex(slab.ptr)}, object ${e.objIndex} of ${slab.slabInfo.capacity}`);
    row('map bit', `${e.used ? 1 : 0} (word ${e.objIndex >> 5}, bit ${e.objIndex & 31})`);
    row('header', 'none: objects have no header; the slab\'s map says which are in use');
    note = e.used ? '' : 'A free object\'s first 4 bytes link to the next free object of its slab.';
  } else {
    const h = e.hdr;
    if (e.kind === 'slab') title = `slab of ${e.slabInfo.size}-byte objects`;
    else if (e.top) title = 'top block (free)';
    else if (!e.used) title = e.padFor !== undefined ? 'free block (alignment gap)' : 'free block';
    else title = `block "${nameOf(e) ?? hex(e.ptr)}"`;
    row('address', `${hex(e.ptr)} (header at ${hex(e.header)})`);
    row('block size', `${e.size} B (${formatBytes(e.size)}), header included`);
    if (e.kind === 'block' && e.used) {
      row('requested', `${e.requested ?? '?'} B`);
      row('usable', `${e.usable} B`);
      row('slack', `${e.usable - (e.requested ?? e.usable)} B (rounding to 16 B)`);
      if (e.align > 16) row('alignment', `${e.align} (aligned_alloc)`);
      row('allocated', stepText(log, e.step));
      if (e.resized) row('resized', stepText(log, e.resized));
      row('reachable', e.leaked ? 'NO: leaked (no named pointer or reachable block holds its address)' : 'yes');
    }
    row('header', headerText(h));
    row('header bits', `FREE=${+h.free} PREV_FREE=${+h.prevFree} SLAB=${+h.slab}`);
    if (e.kind === 'block' && !e.used) {
      if (e.top) {
        note = 'Top is in no free list: requests no list can serve are carved from its start, and it grows with memory.grow.';
      } else {
        row('size class', `${e.cls} (${formatBytes(binClassMin(e.cls))} .. ${formatBytes(binClassMax(e.cls))}), map[${e.cls >> 5}] bit ${e.cls & 31}`);
        row('list position', `${e.listPos ?? '?'} (0 = head; LIFO)`);
        row('next / prev', `${e.links.next ? hex(e.links.next) : '0 (none)'} / ${e.links.prev ? hex(e.links.prev) : '0 (none: head)'}`);
        row('footer', `${e.footer} ${e.footer === e.size ? '(= size: free() finds this block from its right neighbour)' : '(!= size: corrupt)'}`);
        if (e.padFor !== undefined) note = `The unused lead of an aligned allocation, given back to the free lists (${snapshot.entries[e.padFor].label ?? ''}).`;
      }
    }
    if (e.kind === 'slab') {
      const s = e.slabInfo;
      row('objects', `${s.used} of ${s.capacity} in use, ${s.size} B each`);
      row('free list', s.freeHead ? `first free object ${hex(s.freeHead)}` : 'empty');
      row('bump', s.bump ? `${hex(s.bump)} (objects from here were never handed out)` : '0 (all handed out once)');
      row('class list', s.hasRoom ? `on the ${s.size} B list (next ${hex(s.next)}, prev ${hex(s.prev)})` : 'full: off the list');
      row('map', s.map.map((w) => hex(w, 8)).join(' '));
      row('created', stepText(log, e.born));
      row('slack', `${e.header + e.size - (e.ptr + s.slack)} B at the end`);
    }
  }
  return { title, rows, hex: hexDump(bytes, dumpStart(e)), note, entry: e };
}

