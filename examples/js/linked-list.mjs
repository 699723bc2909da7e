// A linked list of records in wasm linear memory, managed by lmalloc from
// JavaScript: build it, read it back, free it, print the heap's stats.
//
//   node examples/js/linked-list.mjs      (after `npm test` or `npm start`,
//                                          which build wasm/dist/lmalloc.wasm)
//
// Each record is a C struct, 24 bytes:
//
//   struct record {            offset
//     struct record *next;     0   (u32, 0 ends the list)
//     uint32_t id;             4
//     double score;            8   (8-aligned: lmalloc returns 16-aligned)
//     char *name;              16  (a NUL-terminated UTF-8 string, own block)
//   };                         20, padded to 24

import { createHeap } from '../../wasm/lmalloc.mjs';

const RECORD_SIZE = 24;
const names = ['Ada', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Niklaus', 'Käthe'];

const heap = await createHeap({
  initialPages: 1,
  onGrow: ({ oldPages, newPages, cause, requestedSize }) =>
    console.log(`memory grew ${oldPages} -> ${newPages} pages (${cause} of ${requestedSize} bytes)`),
});

// Build: prepend records, so the list ends up in reverse order of creation.
let head = 0;
for (let id = 0; id < 2000; id++) {
  const record = heap.malloc(RECORD_SIZE);
  const name = heap.allocString(`${names[id % names.length]} #${id}`);
  // Views are made fresh after each allocation: memory may have grown.
  const words = heap.view(Uint32Array, record, 6);
  words[0] = head;
  words[1] = id;
  words[4] = name;
  heap.view(Float64Array, record + 8, 1)[0] = id * 1.5;
  head = record;
}

// Read back.
let count = 0;
let total = 0;
let first = '';
for (let r = head; r !== 0; ) {
  const words = heap.view(Uint32Array, r, 6);
  const [next, id] = words;
  const name = heap.readString(words[4]);
  total += heap.view(Float64Array, r + 8, 1)[0];
  if (count === 0) first = `#${id} ${name}`;
  count++;
  r = next;
}
console.log(`read ${count} records, first ${first}, scores sum to ${total}`);

const full = heap.stats();
console.log('while the list is alive:', full);
console.log(`heap.check() = ${heap.check()}`);

// Free: each record's name, then the record.
for (let r = head; r !== 0; ) {
  const [next, , , , name] = heap.view(Uint32Array, r, 5);
  heap.free(name);
  heap.free(r);
  r = next;
}

const empty = heap.stats();
console.log('after freeing it:', empty);
console.log(`heap.check() = ${heap.check()}, used blocks ${empty.usedBlocks}`);
