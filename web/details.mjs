// Block details as data: describeEntry(snapshot, i, bytes, log) returns the
// title, the rows of fields (address, sizes, decoded header, where it came
// from) and a hex dump, which app.mjs puts in the details panel. Pure.

import { binClassMax, binClassMin, formatBytes, hex, slabMapBit } from './heap-layout.mjs';
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

// An arena's chunk, or one of its allocations (heaps-arenas.mjs).
function describeArenaEntry(snapshot, e, row, log) {
  const a = snapshot.arenas?.find((x) => x.name === e.arenaName);
  const figures = a ? `${formatBytes(a.used)} used of ${formatBytes(a.held)} (${a.pages} page${a.pages === 1 ? '' : 's'}, ${a.chunks.length} chunk${a.chunks.length === 1 ? '' : 's'}), peak ${formatBytes(a.peak)}` : '';
  if (e.kind === 'chunk') {
    row('address', `${hex(e.header)}..${hex(e.header + e.size)}`);
    row('size', `${formatBytes(e.size)} (${e.size / 65536} page${e.size === 65536 ? '' : 's'})`);
    row('chunk header', `next chunk, chunk end (16 B at ${hex(e.header)})`);
    if (e.chunkIndex === 0) row('arena struct', `${hex(e.header + 16)}..${hex(e.data)}: the arena's own state, in its first chunk`);
    row('allocations', `from ${hex(e.data)}`);
    const state = {
      current: `being filled: the bump pointer is at ${hex(e.bump ?? 0)}, ${formatBytes(e.header + e.size - (e.bump ?? 0))} left`,
      full: 'filled since the last reset (its tail did not fit the next allocation)',
      empty: 'waiting: nothing allocated in it since the last reset',
    }[e.state];
    row('state', state);
    if (a) {
      row('arena', `${a.name}: ${figures}`);
      row('since reset', `${a.allocations} allocation${a.allocations === 1 ? '' : 's'}`);
      row('created', stepText(log, a.step));
    }
    return {
      title: `arena ${e.arenaName}: chunk ${e.chunkIndex + 1} of ${e.chunkCount}`,
      note: 'An arena hands out memory by moving a bump pointer: no headers, no free lists. ' +
        'lm_arena_reset moves the pointer back to the first chunk in O(1) and keeps every chunk, so the next round ' +
        'reuses the same pages; a new chunk (as large as all earlier ones together) is taken only when they are all full.',
    };
  }
  row('address', hex(e.ptr));
  row('requested', `${e.requested ?? '?'} B`);
  row('size', `${e.size} B (rounded to 16; no header)`);
  row('slack', `${e.size - (e.requested ?? e.size)} B`);
  if (e.align > 16) row('alignment', `${e.align} (lm_arena_aligned_alloc)`);
  row('allocated', stepText(log, e.step));
  const chunk = snapshot.entries[e.within];
  if (chunk) row('chunk', `${chunk.chunkIndex + 1} of ${chunk.chunkCount}, at ${hex(chunk.header)}`);
  if (a) row('arena', `${a.name}: ${figures}`);
  return {
    title: `arena allocation "${nameOf(e) ?? hex(e.ptr)}"`,
    note: `Bumped from arena ${e.arenaName}: the arena only moved its bump pointer past these bytes. ` +
      `It cannot be freed alone; it lives until lm_arena_reset(${e.arenaName}) or lm_arena_destroy frees the whole arena at once.`,
  };
}

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
  if (e.kind === 'chunk' || e.kind === 'bump') {
    ({ title, note } = describeArenaEntry(snapshot, e, row, log));
    return { title, rows, hex: hexDump(bytes, dumpStart(e)), note, entry: e };
  }
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
    const m = slabMapBit(slab.ptr, e.ptr);
    row('map bit', `${e.used ? 1 : 0} (word ${m.word}, bit ${m.bit})`);
    row('header', 'none: objects have no header; the slab\'s map says which are in use');
    note = e.used ? '' : 'A free object\'s first 4 bytes link to the next free object of its slab.';
  } else {
    const h = e.hdr;
    if (e.kind === 'slab') title = `slab of ${e.slabInfo.size}-byte objects`;
    else if (e.top) title = 'top block (free)';
    else if (!e.used) title = e.padFor !== undefined ? 'free block (alignment gap)' : 'free block';
    else title = `block "${nameOf(e) ?? hex(e.ptr)}"`;
    row('address', `${hex(e.ptr)} (header at ${hex(e.header)})`);
    const sealed = e.kind === 'block' && e.used;
    row('block size', `${e.size} B (${formatBytes(e.size)}), header${sealed ? ' and seal' : ''} included`);
    if (sealed) {
      row('requested', `${e.requested ?? '?'} B`);
      row('usable', `${e.usable} B`);
      row('seal', `the last 4 bytes (at ${hex(e.header + e.size - 4)}): the offset of the block's header masked with the heap's key; free() checks it`);
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
        note = 'Top is in no free list: blocks no list can serve are carved from its start, slabs from its end (so they need no gap to be aligned), and memory.grow extends it when it ends the heap.';
      } else {
        row('size class', `${e.cls} (${formatBytes(binClassMin(e.cls))} .. ${formatBytes(binClassMax(e.cls))}), map[${e.cls >> 5}] bit ${e.cls & 31}`);
        row('list position', `${e.listPos ?? '?'} (0 = head; LIFO)`);
        row('next / prev', `${e.links.next ? hex(e.links.next) : '0 (none)'} / ${e.links.prev ? hex(e.links.prev) : '0 (none: head)'}`);
        row('footer', `${e.footer} ${e.footer === e.size ? '(= size: free() finds this block from its right neighbour)' : '(!= size: corrupt)'}`);
        if (e.padFor !== undefined) note = `The unused lead of an aligned allocation, given back to the free lists (${snapshot.entries[e.padFor].label ?? ''}).`;
      }
    }
    if (e.heapBuffer !== undefined) {
      const h = snapshot.heaps?.find((x) => x.name === e.heapBuffer);
      title = `block holding heap ${e.heapBuffer}`;
      if (h) {
        const span = h.spans[0];
        row('heap', `${e.heapBuffer}: lm_heap_create(${hex(e.ptr)}, ${h.bytes}), ${stepText(log, h.step)}`);
        if (span) row('heap struct', `${hex(e.ptr)}..${hex(span.start)}: ${span.start - e.ptr} B (free-list heads, bitmaps, its key)`);
        if (span) row('its span', `${hex(span.start)}..${hex(span.end)}: ${formatBytes(span.end - span.start)}`);
        if (h.stats) row('in use', `${h.stats.usedBytes} B in ${h.stats.usedBlocks} allocations, ${h.stats.freeBytes} B free`);
        row('heap check', h.check ? `${h.check} broken invariants` : '0 problems');
      }
      note = `To the default heap this is one used block. Inside it, heap ${e.heapBuffer} keeps its own free lists and slabs, ` +
        'and never grows: when it is full, its mallocs fail. lm_heap_destroy frees all its blocks at once.';
    }
    if (e.heapName !== undefined) {
      title = `heap ${e.heapName}: ${title}`;
      row('heap', `${e.heapName} (its own blocks, free lists and slabs)`);
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

