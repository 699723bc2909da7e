/* Example: a linked list whose nodes come from malloc, which is lmalloc.
 *
 * The program builds a list of eight nodes with malloc, removes one from
 * the middle, frees the rest, and shows what the heap looks like at each
 * step with lm_stats. It ends with a leak report: a walk of the heap
 * (lm_walk) that lists every allocation still in use. Nothing is left, so
 * the report says so and the program exits with status 0 (1 if anything
 * leaked).
 *
 * Nothing in the list code knows about lmalloc: it calls malloc and free,
 * and libc's strdup allocates the labels. Linking liblmalloc.a is what
 * makes those calls land in lmalloc (see examples/README.md).
 *
 * Node payloads grow from 48 to 6 KiB, so the list holds both kinds of
 * allocation lmalloc makes: requests up to 256 bytes are objects in slabs,
 * larger ones are blocks with a 4-byte header and a 4-byte seal.
 *
 *   WASI:        npm run example -- linked-list
 *   Emscripten:  npm run example -- emscripten
 */
#define _POSIX_C_SOURCE 200809L /* strdup under -std=c11 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmalloc.h"

#define NODES 8
#define REMOVED 3 /* the node taken out of the middle */

typedef struct node {
  struct node *next;
  int number;
  char *label;          /* from strdup, so libc allocates through lmalloc too */
  size_t size;          /* bytes of data[] */
  unsigned char data[]; /* the payload, filled with the node's number */
} node_t;

/* ---- heap statistics ------------------------------------------------ */

static lm_stats_t stats_now(void) {
  lm_stats_t s = {.version = LM_STATS_VERSION, .size = sizeof s};
  if (lm_stats(&s) != 0) {
    fprintf(stderr, "lm_stats failed\n");
    exit(1);
  }
  return s;
}

static void print_stats(const char *when) {
  lm_stats_t s = stats_now();
  printf("%-13s heap %zu bytes in %zu span(s); %zu allocation(s) using %zu "
         "bytes; %zu free block(s) holding %zu bytes; %zu slab(s)\n",
         when, s.heap_bytes, s.spans, s.used_blocks, s.used_bytes,
         s.free_blocks, s.free_bytes, s.slabs);
}

/* ---- leak report: one walk of the heap ---------------------------------
 * Walk entries are blocks (LM_KIND_BLOCK), slabs (LM_KIND_SLAB, a used
 * block holding small objects) and the objects of each slab
 * (LM_KIND_OBJECT). An allocation is a used block or a used object; a slab
 * is only their container, so it is not counted. */

typedef struct usage {
  int print; /* list the entries found (the first ten) */
  size_t blocks, objects, bytes;
} usage_t;

static int count_in_use(const lm_block_info_t *b, void *ctx) {
  usage_t *u = ctx;
  if (!b->used || b->kind == LM_KIND_SLAB)
    return 0;
  if (b->kind == LM_KIND_OBJECT)
    u->objects++;
  else
    u->blocks++;
  u->bytes += b->usable;
  if (u->print && u->blocks + u->objects <= 10)
    printf("  in use: %s at %p, %zu usable bytes\n",
           b->kind == LM_KIND_OBJECT ? "object" : "block", b->ptr, b->usable);
  return 0;
}

static usage_t in_use(int print) {
  usage_t u = {print, 0, 0, 0};
  lm_walk(count_in_use, &u);
  return u;
}

/* ---- the list ------------------------------------------------------- */

static node_t *node_new(int number, size_t size) {
  node_t *n = malloc(sizeof *n + size);
  if (!n)
    return NULL;
  char label[32];
  snprintf(label, sizeof label, "node %d", number);
  n->label = strdup(label);
  if (!n->label) {
    free(n);
    return NULL;
  }
  n->next = NULL;
  n->number = number;
  n->size = size;
  memset(n->data, number, size);
  return n;
}

static void node_free(node_t *n) {
  free(n->label);
  free(n);
}

static int node_intact(const node_t *n) {
  for (size_t i = 0; i < n->size; i++)
    if (n->data[i] != (unsigned char)n->number)
      return 0;
  return 1;
}

static void print_list(const char *what, const node_t *head) {
  printf("%-13s", what);
  for (const node_t *n = head; n; n = n->next)
    printf(" [%s: %zu B]", n->label, n->size);
  printf("\n");
}

int main(void) {
  printf("lmalloc %d.%d linked-list example\n", LM_VERSION_MAJOR,
         LM_VERSION_MINOR);
  print_stats("at start:");
  usage_t start = in_use(0);

  /* Build: node i carries 48 << i bytes (48 B ... 6 KiB). */
  node_t *head = NULL, **tail = &head;
  for (int i = 0; i < NODES; i++) {
    node_t *n = node_new(i, (size_t)48 << i);
    if (!n) {
      printf("out of memory at node %d\n", i);
      return 1;
    }
    *tail = n;
    tail = &n->next;
  }
  print_list("list:", head);
  print_stats("built:");
  usage_t built = in_use(0);
  printf("%-13s %zu block(s) and %zu object(s) in use (2 per node)\n",
         "walk:", built.blocks, built.objects);

  /* Remove one node from the middle. */
  node_t **link = &head;
  while ((*link)->number != REMOVED)
    link = &(*link)->next;
  node_t *gone = *link;
  *link = gone->next;
  node_free(gone);
  printf("%-13s node %d (%zu B), from the middle\n", "removed:", REMOVED,
         (size_t)48 << REMOVED);
  print_list("list:", head);

  /* The survivors still hold their own bytes. */
  int intact = 1;
  for (const node_t *n = head; n; n = n->next)
    intact &= node_intact(n);
  printf("%-13s %s\n", "payloads:", intact ? "intact" : "CORRUPTED");

  /* Free the list. */
  while (head) {
    node_t *next = head->next;
    node_free(head);
    head = next;
  }
  print_stats("freed:");

  printf("leak report:\n");
  usage_t end = in_use(1);
  size_t leaked = end.blocks + end.objects;
  size_t before = start.blocks + start.objects;
  if (leaked == 0)
    printf("  0 used blocks, 0 used objects: nothing left\n");
  else
    printf("  %zu used block(s), %zu used object(s), %zu bytes still in use "
           "(%zu were in use at start)\n",
           end.blocks, end.objects, end.bytes, before);
  return intact && leaked == before ? 0 : 1;
}
