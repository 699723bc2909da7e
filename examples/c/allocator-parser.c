/* Example: a parser that takes an allocator.
 *
 * parse() reads a small JSON-like text (objects, arrays, strings, numbers,
 * true/false/null) into a tree. It never calls malloc: every node, child
 * array and string comes from the lm_allocator_t its caller passes
 * (lmalloc_heaps.h), so the caller chooses where the tree lives:
 *
 *   1. in a heap of its own (lm_heap_create), through a testing allocator
 *      that counts every allocation and would report any the tree forgot
 *      to free; tree_free gives the tree back node by node, and
 *      lm_testing_allocator_finish confirms nothing leaked;
 *   2. in an arena: no tree_free at all. Each document is parsed, used,
 *      and thrown away with lm_arena_reset, which costs the same however
 *      big the tree was, and keeps the arena's pages for the next one.
 *
 * The parser code is the same for both; only the allocator differs.
 *
 *   WASI:        npm run example -- allocator-parser
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmalloc.h"

/* ---- the tree -------------------------------------------------------- */

typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } kind_t;

typedef struct node {
  kind_t kind;
  char *key;           /* member name inside an object, else NULL */
  char *text;          /* J_STRING: the string; J_NUMBER: its digits */
  int truth;           /* J_BOOL */
  struct node **items; /* J_ARRAY, J_OBJECT: children */
  size_t count, cap;
} node_t;

/* ---- the parser: everything it allocates comes from `a` ------------- */

typedef struct parser {
  lm_allocator_t a;
  const char *s;
  const char *error; /* NULL while all is well */
} parser_t;

static void skip_space(parser_t *p) {
  while (*p->s == ' ' || *p->s == '\n' || *p->s == '\t' || *p->s == '\r')
    p->s++;
}

static char *copy(parser_t *p, const char *from, size_t len) {
  char *c = lm_allocator_alloc(p->a, len + 1, 1);
  if (!c) {
    p->error = "out of memory";
    return NULL;
  }
  memcpy(c, from, len);
  c[len] = '\0';
  return c;
}

static node_t *new_node(parser_t *p, kind_t kind) {
  node_t *n = lm_allocator_alloc(p->a, sizeof *n, _Alignof(node_t));
  if (!n) {
    p->error = "out of memory";
    return NULL;
  }
  memset(n, 0, sizeof *n);
  n->kind = kind;
  return n;
}

static int add_child(parser_t *p, node_t *parent, node_t *child) {
  if (parent->count == parent->cap) {
    size_t cap = parent->cap ? parent->cap * 2 : 2;
    node_t **items =
        lm_allocator_realloc(p->a, parent->items, parent->cap * sizeof *items,
                             cap * sizeof *items, _Alignof(node_t *));
    if (!items) {
      p->error = "out of memory";
      return 0;
    }
    parent->items = items;
    parent->cap = cap;
  }
  parent->items[parent->count++] = child;
  return 1;
}

static node_t *parse_value(parser_t *p);
static void tree_free(lm_allocator_t a, node_t *n);

static char *parse_string(parser_t *p) {
  const char *start = ++p->s; /* after the opening quote */
  while (*p->s && *p->s != '"')
    p->s++;
  if (*p->s != '"') {
    p->error = "unterminated string";
    return NULL;
  }
  char *c = copy(p, start, (size_t)(p->s - start));
  p->s++;
  return c;
}

/* Every parse function returns what it allocated even when it stops at
 * an error, attached to the tree, so parse() can give it all back. */
static node_t *parse_container(parser_t *p, kind_t kind, char close) {
  node_t *n = new_node(p, kind);
  p->s++; /* the opening bracket */
  skip_space(p);
  while (n && !p->error && *p->s != close) {
    char *key = NULL;
    if (kind == J_OBJECT) {
      if (*p->s != '"') {
        p->error = "expected a member name";
        break;
      }
      key = parse_string(p);
      skip_space(p);
      if (!p->error && *p->s++ != ':')
        p->error = "expected ':'";
    }
    node_t *child = p->error ? NULL : parse_value(p);
    if (!child) {
      if (key)
        lm_allocator_free(p->a, key, strlen(key) + 1);
      break;
    }
    child->key = key;
    if (!add_child(p, n, child)) {
      tree_free(p->a, child);
      break;
    }
    skip_space(p);
    if (*p->s == ',')
      p->s++, skip_space(p);
    else if (*p->s != close)
      p->error = *p->s ? "expected ',' or a closing bracket"
                       : "the text ends inside a bracket";
  }
  if (n && !p->error)
    p->s++;
  return n;
}

static node_t *parse_value(parser_t *p) {
  skip_space(p);
  const char *s = p->s;
  if (*s == '{')
    return parse_container(p, J_OBJECT, '}');
  if (*s == '[')
    return parse_container(p, J_ARRAY, ']');
  if (*s == '"') {
    node_t *n = new_node(p, J_STRING);
    if (n)
      n->text = parse_string(p);
    return n;
  }
  if (*s == '-' || (*s >= '0' && *s <= '9')) {
    size_t len = strspn(s, "-+.eE0123456789");
    node_t *n = new_node(p, J_NUMBER);
    if (n)
      n->text = copy(p, s, len);
    p->s += len;
    return n;
  }
  static const struct {
    const char *word;
    kind_t kind;
    int truth;
  } words[] = {{"true", J_BOOL, 1}, {"false", J_BOOL, 0}, {"null", J_NULL, 0}};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t len = strlen(words[i].word);
    if (strncmp(s, words[i].word, len) == 0) {
      node_t *n = new_node(p, words[i].kind);
      if (n)
        n->truth = words[i].truth;
      p->s += len;
      return n;
    }
  }
  p->error = "unexpected character";
  return NULL;
}

/* Parses `text` with memory from `a`. NULL (and *error set) on a syntax
 * error or when `a` runs out, after giving back what it had built. */
static node_t *parse(lm_allocator_t a, const char *text, const char **error) {
  parser_t p = {a, text, NULL};
  node_t *root = parse_value(&p);
  skip_space(&p);
  if (!p.error && *p.s)
    p.error = "text after the value";
  *error = p.error;
  if (p.error) {
    tree_free(a, root);
    return NULL;
  }
  return root;
}

/* Gives a tree back to the allocator it came from, node by node (an
 * arena's user need not call it). */
static void tree_free(lm_allocator_t a, node_t *n) {
  if (!n)
    return;
  for (size_t i = 0; i < n->count; i++)
    tree_free(a, n->items[i]);
  lm_allocator_free(a, n->items, n->cap * sizeof *n->items);
  if (n->key)
    lm_allocator_free(a, n->key, strlen(n->key) + 1);
  if (n->text)
    lm_allocator_free(a, n->text, strlen(n->text) + 1);
  lm_allocator_free(a, n, sizeof *n);
}

/* ---- using the tree (knows nothing about allocators) ----------------- */

static void count(const node_t *n, size_t *nodes, size_t *depth, size_t d) {
  (*nodes)++;
  if (d > *depth)
    *depth = d;
  for (size_t i = 0; i < n->count; i++)
    count(n->items[i], nodes, depth, d + 1);
}

static void print(const node_t *n) {
  if (n->key)
    printf("%s=", n->key);
  switch (n->kind) {
  case J_NULL:
    printf("null");
    break;
  case J_BOOL:
    printf(n->truth ? "true" : "false");
    break;
  case J_NUMBER:
    printf("%s", n->text);
    break;
  case J_STRING:
    printf("'%s'", n->text);
    break;
  case J_ARRAY:
  case J_OBJECT:
    printf(n->kind == J_ARRAY ? "[" : "{");
    for (size_t i = 0; i < n->count; i++) {
      if (i)
        printf(" ");
      print(n->items[i]);
    }
    printf(n->kind == J_ARRAY ? "]" : "}");
    break;
  }
}

static void summary(const char *who, const node_t *root) {
  size_t nodes = 0, depth = 0;
  count(root, &nodes, &depth, 1);
  printf("%-6s %zu nodes, depth %zu: ", who, nodes, depth);
  print(root);
  printf("\n");
}

/* ---- the two callers ------------------------------------------------ */

static const char *documents[] = {
    ("{\"name\": \"lmalloc\", \"pages\": 65536, \"wasm\": true,"
     " \"sizes\": [16, 32, 48, 64], \"owner\": null}"),
    "[{\"x\": 1, \"y\": 2}, {\"x\": 3, \"y\": 4}, {\"x\": 5, \"y\": [6, 7, "
    "8]}]",
    "{\"deep\": {\"deeper\": {\"deepest\": [\"a\", \"b\", {\"c\": false}]}}}",
};
#define DOCS (sizeof documents / sizeof documents[0])

static int with_a_heap(void) {
  lm_heap_t *heap = lm_heap_create(NULL, 0);
  if (!heap)
    return 1;
  lm_testing_allocator_t t;
  lm_testing_allocator_init(&t, lm_heap_allocator(heap));
  lm_allocator_t a = lm_testing_allocator(&t);
  int failures = 0;
  for (size_t i = 0; i < DOCS; i++) {
    const char *error;
    node_t *root = parse(a, documents[i], &error);
    if (!root) {
      printf("heap:  parse error: %s\n", error);
      failures++;
      continue;
    }
    summary("heap:", root);
    tree_free(a, root);
  }
  const char *error;
  node_t *bad = parse(a, "{\"unterminated\": [1, {\"x\": \"y\"", &error);
  printf("heap:  a broken document: %s\n", bad ? "parsed?" : error);
  printf("heap:  %zu allocations, %zu frees, %zu bytes at the peak\n",
         t.allocations, t.frees, t.peak_bytes);
  /* Any allocation the parser lost (the broken document's partial tree
   * too) would be reported here as LM_REPORT_LEAK. */
  size_t leaks = lm_testing_allocator_finish(&t);
  printf("heap:  lm_testing_allocator_finish: %zu leak(s)\n", leaks);
  failures += leaks != 0;
  lm_stats_t s;
  memset(&s, 0, sizeof s);
  s.version = LM_STATS_VERSION;
  s.size = sizeof s;
  lm_heap_stats(heap, &s);
  printf("heap:  after finish: %zu allocation(s) in the heap\n", s.used_blocks);
  lm_heap_destroy(heap);
  return failures;
}

static int with_an_arena(void) {
  lm_arena_t *arena = lm_arena_create(0);
  if (!arena)
    return 1;
  lm_allocator_t a = lm_arena_allocator(arena);
  int failures = 0;
  size_t chunks = 0;
  for (size_t i = 0; i < DOCS; i++) {
    const char *error;
    node_t *root = parse(a, documents[i], &error);
    if (!root) {
      printf("arena: parse error: %s\n", error);
      failures++;
    } else {
      summary("arena:", root);
    }
    lm_arena_info_t info;
    lm_arena_info(arena, &info);
    printf("arena: %zu allocations, %zu bytes used, %zu page(s) held\n",
           info.allocations, info.used_bytes, info.pages);
    chunks = info.chunks;
    lm_arena_reset(arena); /* the whole tree at once, O(1) */
  }
  lm_arena_info_t info;
  lm_arena_info(arena, &info);
  printf("arena: after reset: %zu bytes used, %zu chunk(s) kept (%s)\n",
         info.used_bytes, info.chunks,
         info.chunks == chunks ? "the same" : "changed");
  lm_arena_destroy(arena);
  return failures;
}

int main(void) {
  printf("lmalloc %d.%d allocator-parser example\n", LM_VERSION_MAJOR,
         LM_VERSION_MINOR);
  int failures = with_a_heap() + with_an_arena();
  lm_pool_info_t pool;
  lm_pool_info(&pool);
  printf("pool:  %zu heap(s) and %zu arena(s) left; %zu bytes of released "
         "pages ready for reuse\n",
         pool.heaps, pool.arenas, pool.free_bytes);
  return failures ? 1 : 0;
}
