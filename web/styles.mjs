// How each kind of byte is drawn: a fill colour from the Okabe-Ito palette
// (readable with every common colour-vision deficiency) plus a pattern, so
// that no two kinds differ by colour alone; the legend shows the same
// swatches. Pure data: render.mjs names a style, draw.mjs paints it.

export const STYLES = {
  header: { fill: '#1a1a1a', pattern: null, legend: 'block header (4 B)' },
  seal: { fill: '#3d3d3d', pattern: 'grid', legend: 'block seal (4 B): checked when the block is freed', text: '#fff' },
  used: { fill: '#0072B2', pattern: null, legend: 'requested bytes', text: '#fff' },
  slack: { fill: '#a6cee3', pattern: 'dots', legend: 'slack: usable, not requested' },
  leak: { fill: '#D55E00', pattern: 'cross', legend: 'leaked: no pointer reaches it', text: '#fff' },
  free: { fill: '#ffffff', pattern: 'hatch', legend: 'free block' },
  freemeta: { fill: '#c8c8c8', pattern: 'hatch', legend: 'free-list links, footer' },
  top: { fill: '#f4f4f4', pattern: 'hatch-wide', legend: 'top: free space blocks and slabs are cut from' },
  pad: { fill: '#fff3d6', pattern: 'hatch', legend: 'alignment gap (a free block)' },
  slabhdr: { fill: '#CC79A7', pattern: 'vlines', legend: 'slab header (64 B)' },
  object: { fill: '#009E73', pattern: 'checks', legend: 'slab object in use', text: '#fff' },
  objfree: { fill: '#e3f4ee', pattern: 'hatch', legend: 'free slab object' },
  spanmeta: { fill: '#595959', pattern: 'hlines', legend: 'span header / end marker', text: '#fff' },
  data: { fill: '#F0E442', pattern: 'bricks', legend: 'static data' },
  stack: { fill: '#fde9cf', pattern: 'hlines', legend: 'shadow stack (C locals), unused' },
  stackused: { fill: '#E69F00', pattern: 'diag-dense', legend: 'stack touched by calls' },
  frame: { fill: 'rgba(86,180,233,0.85)', pattern: 'grid', legend: 'a C function\'s frame (illustration)' },
  unused: { fill: '#ececec', pattern: 'sparse', legend: 'memory not in the heap' },
  heapmeta: { fill: '#3d3d3d', pattern: 'vlines', legend: 'a created heap\'s struct (its free lists, bitmaps)', text: '#fff' },
  arenameta: { fill: '#6a3d9a', pattern: 'hlines', legend: 'arena chunk header / arena struct', text: '#fff' },
  bump: { fill: '#56B4E9', pattern: null, legend: 'arena allocation (bump, no header)' },
  arenapad: { fill: '#fff3d6', pattern: 'sparse', legend: 'arena: alignment gap, or a full chunk\'s tail' },
  arenafree: { fill: '#eef0fb', pattern: 'hatch-wide', legend: 'arena: free bump space (all of it again after a reset)' },
  pool: { fill: '#dcdcdc', pattern: 'cross', legend: 'page pool: pages given back, reused before memory.grow' },
};

/** Styles of the same family merge when tiny blocks share a pixel. */
export const FAMILY = {
  header: 'used', seal: 'used', used: 'used', slack: 'used', leak: 'leak', free: 'free', freemeta: 'free',
  top: 'free', pad: 'free', slabhdr: 'slabhdr', object: 'object', objfree: 'objfree',
  spanmeta: 'used', data: 'data', stack: 'stack', stackused: 'stackused', frame: 'frame', unused: 'unused',
  heapmeta: 'heapmeta', arenameta: 'arenameta', bump: 'bump', arenapad: 'arenafree', arenafree: 'arenafree', pool: 'pool',
};

/** The order in which the legend lists styles. */
export const LEGEND = [
  'header', 'seal', 'used', 'slack', 'leak', 'free', 'freemeta', 'top', 'pad', 'slabhdr', 'object',
  'objfree', 'spanmeta', 'data', 'stack', 'stackused', 'frame', 'unused',
  'heapmeta', 'arenameta', 'bump', 'arenapad', 'arenafree', 'pool',
];

export const INK = {
  text: '#1a1a1a',
  muted: '#5a5a5a',
  page: '#1a1a1a',
  grow: '#D55E00',
  select: '#000000',
  highlight: '#CC79A7',
  grid: '#d0d0d0',
  bumpEdge: 'rgba(0,0,0,0.55)', // where each arena allocation starts
  arena: '#6a3d9a', // an arena's frame and tag
  heap: '#1a1a1a', // a created heap's frame and tag
};
