// The guided scenarios: each is a list of steps (session.mjs operations)
// with the C code they stand for and one line of explanation, played one
// step at a time (or to the end) into the same session as the user's own
// steps, so undo and redo work through them too. Pure data.

const NODE = 'sizeof(struct node)';
const node = (name, label, value) => [
  { op: 'malloc', name, label, size: 8 },
  { op: 'poke', target: { ref: name }, offset: 0, value },
  { op: 'poke', target: { ref: name }, offset: 4, value: null },
];

// The per-frame arena scenario's work: frame k allocates frameSizes(k),
// 454 to 512 small blocks of 8 to 248 bytes (a game's or a server's
// per-frame or per-request scratch data), different in every frame.
export const FRAMES = 8;
export function frameSizes(k) {
  const n = 512 - ((k - 1) * 29) % 64;
  return Array.from({ length: n }, (_, i) => 8 + ((i * 5 + k * 3) % 31) * 8);
}

const frameStep = (k, say) => {
  const sizes = frameSizes(k);
  return {
    op: 'seq',
    ops: [
      { op: 'arenaReset', arena: 'frame' },
      { op: 'arenaMany', arena: 'frame', name: 'tmp', sizes },
      { op: 'replaceEach', name: 'obj', sizes },
    ],
    code: `/* frame ${k} */ lm_arena_reset(frame); for (i = 0; i < ${sizes.length}; i++) { tmp[i] = lm_arena_alloc(frame, size[i]); free(obj[i]); obj[i] = malloc(size[i]); }`,
    say,
  };
};

export const SCENARIOS = [
  {
    id: 'list',
    title: 'Linked list',
    intro: 'struct node { int value; struct node *next; }: 8 bytes on wasm32. Build a list, unlink a node, free the list, then leak one.',
    steps: [
      {
        op: 'seq', ops: node('head', 'node 1', 1),
        code: `head = malloc(${NODE}); head->value = 1; head->next = NULL;`,
        say: 'A node is 8 bytes. Requests of up to 256 bytes come from slabs: lmalloc carves a 4 KiB slab of 16-byte objects (no header per object) and hands out its first object.',
      },
      {
        op: 'seq', ops: [...node('n2', 'node 2', 2), { op: 'poke', target: { ref: 'head' }, offset: 4, value: { ref: 'n2' } }],
        code: `n2 = malloc(${NODE}); n2->value = 2; n2->next = NULL; head->next = n2;`,
        say: 'The second node is the next object of the same slab, 16 bytes further. The link is just its address, stored at offset 4 of node 1 (click node 1: its hex dump shows it).',
      },
      {
        op: 'seq', ops: [...node('n3', 'node 3', 3), { op: 'poke', target: { ref: 'n2' }, offset: 4, value: { ref: 'n3' } }],
        code: `n3 = malloc(${NODE}); n3->value = 3; n3->next = NULL; n2->next = n3;`,
        say: 'A third node, linked from the second. Three objects of one slab are in use; its map has three bits set.',
      },
      {
        op: 'seq', ops: [{ op: 'assign', name: 'n2', value: null }, { op: 'assign', name: 'n3', value: null }],
        code: 'n2 = n3 = NULL;  /* the helper variables go out of scope */',
        say: 'Only head points into the list now. Nodes 2 and 3 are still reachable through the next links (the page follows them, as a leak checker does), so nothing is leaked.',
      },
      {
        op: 'seq', ops: [
          { op: 'assign', name: 'victim', value: { deref: { ref: 'head' }, offset: 4 } },
          { op: 'poke', target: { ref: 'head' }, offset: 4, value: { deref: { ref: 'victim' }, offset: 4 } },
        ],
        code: 'victim = head->next; head->next = victim->next;',
        say: 'Unlinking the middle node: node 1 now points past node 2. Node 2 is still allocated, and still reachable through victim.',
      },
      {
        op: 'seq', ops: [{ op: 'free', target: { ref: 'victim' } }, { op: 'assign', name: 'victim', value: null }],
        code: 'free(victim); victim = NULL;',
        say: 'Its object goes back on the slab\'s free list (its map bit clears). The next malloc of up to 16 bytes gets exactly this object back: slab free lists are LIFO.',
      },
      {
        op: 'freeNode', name: 'head', offset: 4,
        say: 'Freeing a list: read next before free, because after free(head) the node is no longer yours to read.',
      },
      {
        op: 'freeNode', name: 'head', offset: 4,
        say: 'That was the slab\'s last object in use: the whole 4 KiB slab went back to the heap and merged with its free neighbours.',
      },
      {
        op: 'seq', ops: [
          ...node('head', 'lost 1', 10), ...node('n2', 'lost 2', 20),
          { op: 'poke', target: { ref: 'head' }, offset: 4, value: { ref: 'n2' } },
          { op: 'assign', name: 'n2', value: null },
        ],
        code: `head = malloc(${NODE}); head->next = malloc(${NODE});`,
        say: 'A new two-node list. A new slab is made for it, since the last one was given back.',
      },
      {
        op: 'assign', name: 'head', value: null,
        code: 'head = NULL;  /* forgot to free the list */',
        say: 'The only pointer to the list is gone: both nodes are leaked (marked in the map and counted in the stats). Nothing crashes; the memory is just never given back.',
      },
    ],
  },
  {
    id: 'array',
    title: 'Dynamic array (realloc)',
    intro: 'An array that grows with realloc: sometimes in place, sometimes moved and copied.',
    steps: [
      {
        op: 'malloc', name: 'a', label: 'array', size: 400, code: 'int *a = malloc(100 * sizeof(int));  /* 400 bytes */',
        say: '400 bytes is above the 256-byte slab limit: a block with a 4-byte header and a 4-byte seal at its end, carved from the start of the top block (the free space at the heap\'s end; slabs are cut from its end).',
      },
      {
        op: 'write', target: { ref: 'a' }, text: 'a[0..99] = 0, 1, 2, ...', code: 'for (i = 0; i < 100; i++) a[i] = i;',
        say: 'Filling the array (here with text, so that the hex dump shows where the data goes).',
      },
      {
        op: 'realloc', target: { ref: 'a' }, size: 800, code: 'a = realloc(a, 200 * sizeof(int));',
        say: 'a is the last block before top, so realloc grows it in place: same address, nothing copied.',
      },
      {
        op: 'malloc', name: 'other', size: 400, code: 'other = malloc(400);',
        say: 'Another allocation lands right after a.',
      },
      {
        op: 'realloc', target: { ref: 'a' }, size: 1600, code: 'a = realloc(a, 400 * sizeof(int));',
        say: 'Now a\'s right neighbour is in use: realloc allocates a new block, copies the 800 bytes, and frees the old one. The address changes: any other pointer to the old array is now dangling.',
      },
      {
        op: 'realloc', target: { ref: 'a' }, size: 3200, code: 'a = realloc(a, 800 * sizeof(int));',
        say: 'a is last before top again: it grows in place.',
      },
      {
        op: 'realloc', target: { ref: 'a' }, size: 1000, code: 'a = realloc(a, 250 * sizeof(int));',
        say: 'Shrinking is always in place: the tail is given back and merges with top.',
      },
      {
        op: 'malloc', name: 'b', size: 700, code: 'b = malloc(700);',
        say: 'The hole a left behind is reused: the free lists find it before top is touched.',
      },
    ],
  },
  {
    id: 'records',
    title: 'calloc of records',
    intro: 'struct rec { int id; float score; char name[8]; }: 16 bytes. calloc zeroes; malloc does not.',
    steps: [
      {
        op: 'calloc', name: 'recs', label: 'records', count: 100, size: 16, code: 'struct rec *recs = calloc(100, sizeof(struct rec));  /* 1600 B */',
        say: 'calloc multiplies count by size (refusing an overflow) and returns zeroed memory. These bytes never held data (fresh from memory.grow), so lmalloc knows they are zero and does not clear them again.',
      },
      {
        op: 'seq', ops: [
          { op: 'write', target: { ref: 'recs' }, offset: 8, text: 'Ada' },
          { op: 'write', target: { ref: 'recs' }, offset: 24, text: 'Grace' },
        ],
        code: 'strcpy(recs[0].name, "Ada"); strcpy(recs[1].name, "Grace");',
        say: 'Records are back to back, 16 bytes each: record 1\'s name is at offset 16 + 8 = 24 (see the hex dump).',
      },
      { op: 'free', target: { ref: 'recs' }, say: 'The block merges into top; its bytes are not cleared.' },
      {
        op: 'malloc', name: 'junk', size: 1600, code: 'junk = malloc(1600);',
        say: 'malloc gets the same bytes back and does not clear them: the old names are still there. Reading them is reading garbage.',
      },
      { op: 'free', target: { ref: 'junk' }, say: 'Given back again.' },
      {
        op: 'calloc', name: 'recs', label: 'records again', count: 100, size: 16, code: 'recs = calloc(100, sizeof(struct rec));',
        say: 'Same bytes again, but calloc clears them this time, because they were used before: the hex dump is all zero.',
      },
      {
        op: 'calloc', name: 'pair', count: 2, size: 16, code: 'pair = calloc(2, sizeof(struct rec));  /* 32 B */',
        say: 'A small calloc is served by a slab of 32-byte objects.',
      },
    ],
  },
  {
    id: 'fragmentation',
    title: 'Fragmentation',
    intro: 'Allocate many blocks, free every other one, then ask for a big block.',
    steps: [
      {
        op: 'many', name: 'a', fill: true, size: 1000,
        say: 'Blocks of 1000 bytes (1008 with header and seal), as many as the start-up region holds (n, about 40: how many depends on where the heap starts, after the static data): the next one would need memory.grow.',
      },
      {
        op: 'freeEvery', name: 'a', start: 0, stride: 2,
        say: 'About 20 KiB are free now, but in some 20 separate holes of 1008 bytes: no two are neighbours, so none can merge (when n is odd, the last one joins top, still far too small).',
      },
      {
        op: 'malloc', name: 'big', size: 8000, code: 'big = malloc(8000);',
        say: 'No hole holds 8000 bytes and top is too small, so lmalloc calls memory.grow although 20 KiB are free: external fragmentation (see its line in the chart).',
      },
      {
        op: 'freeEvery', name: 'a', start: 1, stride: 2,
        say: 'Freeing the other half: each block merges with the holes on both sides, leaving one large free block.',
      },
      {
        op: 'malloc', name: 'big2', size: 8000, code: 'big2 = malloc(8000);',
        say: 'Now 8000 bytes fit in the merged free block: no memory.grow.',
      },
    ],
  },
  {
    id: 'arena',
    title: 'Per-frame arena',
    intro: 'A loop of frames, each allocating ~500 small blocks of scratch data: once from an arena that is reset every frame, and once with malloc and free in the default heap, side by side.',
    steps: [
      {
        op: 'arenaCreate', name: 'frame', chunkBytes: 0,
        say: 'An arena for per-frame data: memory.grow gives it one 64 KiB page, drawn after the heap as its own framed, labelled region. Its first 80 bytes are the chunk header and the arena struct; the rest is bump space.',
      },
      frameStep(1, 'Frame 1 does the same work twice: 512 blocks of 8 to 248 bytes bumped from the arena (no headers, back to back: 65.9 KiB did not fit in one page, so the arena took a second chunk as large as the first), and the same 512 sizes with malloc, which spread them over 26 slabs of 4 KiB in 16 size classes: the heap grew by 2 pages. In the chart, "arena pages" and "memory" step up once.'),
      frameStep(2, 'Frame 2: lm_arena_reset moved the bump pointer back to the first chunk in O(1), so this frame\'s blocks land on the same addresses frame 1 used. No memory.grow, no free list, no holes. The malloc side freed 512 blocks one by one and allocated 483 new ones into the slabs\' free slots.'),
      frameStep(3, 'Frame 3: still 2 arena pages. Click a blue arena allocation: it has no header, only the page knows where it ends; the arena just moved its bump pointer past it.'),
      frameStep(4, 'Frame 4: every frame allocates a different number of blocks of different sizes, and the arena\'s used bytes (the dashed orange line) go up and down inside the same 2 pages (the solid orange line stays flat).'),
      frameStep(5, 'Frame 5: the malloc side is steady too (lmalloc reuses its slabs\' free objects), but look at its stats: the same data takes 26 slabs of 4 KiB and 170 KiB of heap, about 40 to 50% of its free memory is outside the largest free block (the fragmentation line), and each frame costs a free and a malloc per block.'),
      frameStep(6, 'Frame 6: the arena\'s memory holds exactly the bytes asked for, each rounded to 16, with nothing between them: no fragmentation by construction.'),
      frameStep(7, 'Frame 7: no memory.grow since frame 1 on either side; the arena never needed more than the 2 pages it took in frame 1.'),
      frameStep(8, 'Frame 8, the last: 8 frames, 3,860 allocations of scratch data, and the arena still holds the 2 pages it held after frame 1.'),
      {
        op: 'arenaDestroy', arena: 'frame',
        say: 'The loop is over: lm_arena_destroy gives both pages to the page pool in one step (memory.grow cannot give memory back to the engine). They are drawn as "page pool" now.',
      },
      {
        op: 'arenaCreate', name: 'next', chunkBytes: 0,
        say: 'A new arena takes its page from the pool: no memory.grow this time (the "memory" line stays flat).',
      },
    ],
  },
  {
    id: 'stack',
    title: 'Stack versus heap',
    intro: 'Where C locals live (the shadow stack, just below the heap) and where malloc\'d memory lives.',
    steps: [
      {
        op: 'push', fn: 'main', locals: [{ name: 'line', type: 'char', size: 32 }], focus: { at: 'stackTop', rowUnits: 1024 },
        code: 'int main(void) { char line[32]; char *name; ...',
        say: 'In wasm, scalar locals live in wasm locals (registers); arrays and locals whose address is taken go on the shadow stack in linear memory. It grows down from __heap_base, towards the static data. (The frame is an illustration; the orange part is real: the bytes lmalloc\'s own calls touched.)',
      },
      {
        op: 'malloc', name: 'name', size: 40, code: 'name = malloc(40);',
        say: 'malloc\'d memory is in the heap, above the stack. name holds its address.',
      },
      { op: 'write', target: { ref: 'name' }, text: 'Ada Lovelace', say: 'The string lives in the heap block.' },
      {
        op: 'push', fn: 'greet', locals: [{ name: 'tmp', type: 'char', size: 64 }],
        code: 'char *greet(void) { char tmp[64]; ...',
        say: 'A call pushes its frame below the caller\'s: tmp[64] lives here only while greet runs.',
      },
      {
        op: 'pop', fn: 'greet', code: 'return tmp;  /* bug: tmp dies here */',
        say: 'greet returned: its frame is gone and the next call reuses those bytes. Returning tmp hands the caller a dangling pointer into the stack; heap memory instead lives until free().',
      },
      { op: 'free', target: { ref: 'name' }, say: 'The heap block lives until it is freed, whatever the frames do.' },
      { op: 'pop', fn: 'main', say: 'main returns: the stack is back where it started.' },
    ],
  },
];

/** The scenario with this id, or undefined. */
export const scenario = (id) => SCENARIOS.find((s) => s.id === id);
