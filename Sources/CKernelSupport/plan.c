/*
 * The activation arena of an entry at a batch size, planned before the first call: the same
 * algorithm as the compiler's PlanMemory (best fit over a sorted free list in call order, a
 * buffer kept to the end at the top of the highest free range that fits instead, each
 * buffer freed after its last reader, in-place buffers taking over their operand's range, then
 * for each channels-last convolution the largest range nothing uses during its call), on the
 * sizes of that batch size. A test compares every offset with PlanMemory's.
 */
#include <stdlib.h>

#include "headway_program.h"

enum { ALIGNMENT = 64 };

typedef struct {
  int64_t offset, size;
} range;

typedef struct {
  range *free;
  int count, capacity;
  int64_t peak;
  int failed;
} free_list;

/* p(n), or -1 when it overflows (sizes are never negative). */
static int64_t size_at(hw_poly p, int64_t n) {
  int64_t square, a, b, sum;
  if (__builtin_mul_overflow(n, n, &square) || __builtin_mul_overflow(p.k2, square, &a) ||
      __builtin_mul_overflow(p.k1, n, &b) || __builtin_add_overflow(a, b, &sum) ||
      __builtin_add_overflow(sum, p.k0, &sum) || sum > INT64_MAX / 4) {
    return -1;
  }
  return sum;
}

static int64_t aligned(int64_t bytes) {
  if (bytes < 1) bytes = 1;
  return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
}

static void insert(free_list *list, int at, range r) {
  if (list->count == list->capacity) {
    int capacity = list->capacity ? 2 * list->capacity : 64;
    range *grown = realloc(list->free, (size_t)capacity * sizeof(range));
    if (!grown) {
      list->failed = 1;
      return;
    }
    list->free = grown;
    list->capacity = capacity;
  }
  for (int i = list->count; i > at; i--) list->free[i] = list->free[i - 1];
  list->free[at] = r;
  list->count++;
}

static void remove_at(free_list *list, int at) {
  for (int i = at; i + 1 < list->count; i++) list->free[i] = list->free[i + 1];
  list->count--;
}

/* Best fit: the smallest free range that fits, its low end; `from_top`: the highest free range
 * that fits, its high end (a buffer kept to the end of the entry). */
static int64_t allocate(free_list *list, int64_t bytes, int from_top) {
  int64_t size = aligned(bytes);
  if (from_top) {
    for (int i = list->count - 1; i >= 0; i--) {
      if (list->free[i].size < size) continue;
      list->free[i].size -= size;
      int64_t offset = list->free[i].offset + list->free[i].size;
      if (list->free[i].size == 0) remove_at(list, i);
      return offset;
    }
  }
  int best = -1;
  for (int i = 0; i < list->count; i++) {
    if (list->free[i].size >= size && (best < 0 || list->free[i].size < list->free[best].size)) {
      best = i;
    }
  }
  if (best >= 0) {
    int64_t offset = list->free[best].offset;
    list->free[best].offset += size;
    list->free[best].size -= size;
    if (list->free[best].size == 0) remove_at(list, best);
    return offset;
  }
  if (list->count > 0) {
    range last = list->free[list->count - 1];
    if (last.offset + last.size == list->peak) {
      list->count--;
      if (__builtin_add_overflow(last.offset, size, &list->peak)) list->failed = 1;
      return last.offset;
    }
  }
  int64_t offset = list->peak;
  if (__builtin_add_overflow(list->peak, size, &list->peak)) list->failed = 1;
  return offset;
}

static void release(free_list *list, int64_t offset, int64_t bytes) {
  int at = 0;
  while (at < list->count && list->free[at].offset <= offset) at++;
  insert(list, at, (range){offset, aligned(bytes)});
  if (list->failed) return;
  if (at + 1 < list->count && list->free[at].offset + list->free[at].size == list->free[at + 1].offset) {
    list->free[at].size += list->free[at + 1].size;
    remove_at(list, at + 1);
  }
  if (at > 0 && list->free[at - 1].offset + list->free[at - 1].size == list->free[at].offset) {
    list->free[at - 1].size += list->free[at].size;
    remove_at(list, at);
  }
}

static int by_offset(const void *a, const void *b) {
  int64_t x = ((const range *)a)->offset, y = ((const range *)b)->offset;
  return (x > y) - (x < y);
}

/* The largest gap between the ranges live during call k (the first of equal ones), 0 bytes when
 * every byte is taken. `live` has room for every buffer and the call's scratch. */
static void spare(const hw_entry *entry, hw_plan *plan, int k, const int64_t *bytes, range *live) {
  int count = 0;
  for (int b = 0; b < entry->num_buffers; b++) {
    if (entry->buffers[b].first <= k && k <= entry->buffers[b].last) {
      live[count++] = (range){plan->offsets[b], aligned(bytes[b])};
    }
  }
  int64_t scratch = hw_poly_at(entry->calls[k].scratch, plan->n);
  if (scratch > 0) live[count++] = (range){plan->scratch_offsets[k], aligned(scratch)};
  qsort(live, (size_t)count, sizeof(range), by_offset);
  live[count++] = (range){plan->arena_bytes, 0};
  int64_t best_offset = 0, best_size = 0, cursor = 0;
  for (int i = 0; i < count; i++) {
    if (live[i].offset - cursor > best_size) {
      best_offset = cursor;
      best_size = live[i].offset - cursor;
    }
    if (live[i].offset + live[i].size > cursor) cursor = live[i].offset + live[i].size;
  }
  plan->scratch_offsets[k] = best_offset;
  plan->scratch_bytes[k] = best_size;
}

int hw_entry_plan(const hw_entry *entry, int64_t n, hw_plan *plan) {
  plan->n = n;
  int64_t *bytes = malloc(sizeof(int64_t) * (size_t)(entry->num_buffers + 1));
  char *taken = calloc((size_t)entry->num_buffers + 1, 1);
  free_list list = {0};
  /* The kernels' calls end here; a buffer whose last reader is `end` is kept to the end. */
  const int end = entry->num_calls - entry->optimizer_calls;
  int status = bytes && taken ? 0 : -1;
  for (int b = 0; b < entry->num_buffers && status == 0; b++) {
    bytes[b] = size_at(entry->buffers[b].bytes, n);
    if (bytes[b] < 0) status = -1;
  }
  for (int k = 0; k <= entry->num_calls && status == 0; k++) {
    for (int b = 0; b < entry->num_buffers; b++) {
      const hw_buffer *buffer = &entry->buffers[b];
      if (buffer->first != k) continue;
      if (buffer->in_place_of >= 0) {
        plan->offsets[b] = plan->offsets[buffer->in_place_of];
        taken[buffer->in_place_of] = 1;
      } else {
        plan->offsets[b] = allocate(&list, bytes[b], buffer->last >= end && k < end);
      }
    }
    if (k == entry->num_calls) break;
    int64_t scratch = size_at(entry->calls[k].scratch, n);
    if (scratch < 0) {
      status = -1;
      break;
    }
    plan->scratch_offsets[k] = 0;
    plan->scratch_bytes[k] = scratch;
    if (scratch > 0) {
      plan->scratch_offsets[k] = allocate(&list, scratch, 0);
      release(&list, plan->scratch_offsets[k], scratch);
    }
    for (int b = 0; b < entry->num_buffers; b++) {
      if (entry->buffers[b].last == k && !taken[b]) release(&list, plan->offsets[b], bytes[b]);
    }
    if (list.failed) status = -1;
  }
  if (list.failed) status = -1;
  plan->arena_bytes = list.peak;
  range *live = status == 0 ? malloc(sizeof(range) * (size_t)(entry->num_buffers + 2)) : NULL;
  if (!live) status = -1;
  for (int k = 0; k < entry->num_calls && status == 0; k++) {
    if (entry->calls[k].spare) spare(entry, plan, k, bytes, live);
  }
  free(live);
  free(list.free);
  free(taken);
  free(bytes);
  return status;
}
