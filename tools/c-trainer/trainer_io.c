/*
 * The standalone trainer's input and output: see trainer_io.h. The formats are those of
 * Headway's runtime (Sources/Runtime: SafeTensors.swift, TrainingConfig.swift, IDXReader.swift,
 * CompiledTrainer.swift), so checkpoints written here are byte for byte those of `headway train`.
 */
#include "trainer_io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("train: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

long integer(const char *option, const char *value) {
  char *end;
  errno = 0;
  long result = strtol(value, &end, 10);
  if (errno || *end || end == value) die("%s expects an integer, got '%s'", option, value);
  return result;
}

double real(const char *option, const char *value) {
  char *end;
  errno = 0;
  double result = strtod(value, &end);
  if (errno || *end || end == value) die("%s expects a number, got '%s'", option, value);
  return result;
}

void text_add(text *t, const char *format, ...) {
  for (;;) {
    va_list args;
    va_start(args, format);
    size_t room = t->capacity - t->length;
    int n = vsnprintf(t->bytes ? t->bytes + t->length : NULL, t->bytes ? room : 0, format, args);
    va_end(args);
    if (n < 0) die("cannot format text");
    if (t->bytes && (size_t)n < room) {
      t->length += (size_t)n;
      return;
    }
    t->capacity = (t->capacity + (size_t)n + 1) * 2;
    t->bytes = realloc(t->bytes, t->capacity);
    if (!t->bytes) die("out of memory");
  }
}

void json_number(text *t, double value) {
  char digits[40];
  int precision = 0;
  for (; precision < 17; precision++) {  // the shortest %.*e that reads back to the value
    snprintf(digits, sizeof digits, "%.*e", precision, value);
    if (strtod(digits, NULL) == value) break;
  }
  int exponent = atoi(strchr(digits, 'e') + 1);
  if (exponent < -4 || exponent >= 16) {
    char mantissa[40];
    snprintf(mantissa, sizeof mantissa, "%.*e", precision, value);
    *strchr(mantissa, 'e') = 0;
    text_add(t, "%se%c%02d", mantissa, exponent < 0 ? '-' : '+', abs(exponent));
    return;
  }
  int decimals = precision - exponent;
  text_add(t, "%.*f", decimals > 0 ? decimals : 0, value);
}

void json_string(text *t, const char *value) {
  text_add(t, "\"");
  for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
    switch (*c) {
    case '"': text_add(t, "\\\""); break;
    case '\\': text_add(t, "\\\\"); break;
    case '/': text_add(t, "\\/"); break;
    case '\n': text_add(t, "\\n"); break;
    case '\r': text_add(t, "\\r"); break;
    case '\t': text_add(t, "\\t"); break;
    default:
      if (*c < 0x20) text_add(t, "\\u%04x", *c);
      else text_add(t, "%c", *c);
    }
  }
  text_add(t, "\"");
}

/* The safetensors spelling of a string (SafeTensors' `quoted`). */
static void quoted(text *t, const char *value) {
  text_add(t, "\"");
  for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
    if (*c == '"' || *c == '\\') text_add(t, "\\%c", *c);
    else if (*c < 0x20) text_add(t, "\\u%04x", *c);
    else text_add(t, "%c", *c);
  }
  text_add(t, "\"");
}

/* The whole of an IDX file, gzip or plain (zlib reads both). */
static unsigned char *read_idx(const char *directory, const char *name, size_t *size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.gz", directory, name);
  if (access(path, R_OK) != 0) snprintf(path, sizeof path, "%s/%s", directory, name);
  gzFile file = gzopen(path, "rb");
  if (!file) die("%s: cannot open (Fashion-MNIST: apt-get install dataset-fashion-mnist)", path);
  size_t capacity = 1 << 20, length = 0;
  unsigned char *bytes = malloc(capacity);
  for (;;) {
    if (length == capacity && !(bytes = realloc(bytes, capacity *= 2))) die("out of memory");
    int n = gzread(file, bytes + length, (unsigned)(capacity - length));
    if (n < 0) die("%s: not a readable gzip or IDX file", path);
    if (n == 0) break;
    length += (size_t)n;
  }
  gzclose(file);
  *size = length;
  return bytes;
}

images load_fashion_mnist(const char *directory, long limit) {
  size_t size;
  unsigned char *bytes = read_idx(directory, "train-images-idx3-ubyte", &size);
  if (size < 16 || bytes[0] || bytes[1] || bytes[2] != 0x08 || bytes[3] != 3)
    die("%s/train-images-idx3-ubyte: offset 0: expected the IDX magic 0x00000803", directory);
  long dims[3];
  for (int d = 0; d < 3; d++)
    dims[d] = (long)bytes[4 + 4 * d] << 24 | bytes[5 + 4 * d] << 16 | bytes[6 + 4 * d] << 8 |
              bytes[7 + 4 * d];
  if ((size_t)(16 + dims[0] * dims[1] * dims[2]) > size)
    die("%s/train-images-idx3-ubyte: offset 16: expected %ld bytes of pixels, found %zu",
        directory, dims[0] * dims[1] * dims[2], size - 16);
  images result = {.count = limit >= 0 && limit < dims[0] ? limit : dims[0],
                   .height = (int)dims[1], .width = (int)dims[2]};
  size_t pixels = (size_t)result.count * (size_t)(result.height * result.width);
  result.pixels = malloc(pixels * sizeof(float) + 1);
  for (size_t i = 0; i < pixels; i++) result.pixels[i] = (float)bytes[16 + i] / 255;
  free(bytes);
  return result;
}

void make_directory(const char *path) {
  char partial[4096];
  snprintf(partial, sizeof partial, "%s", path);
  for (char *slash = partial + 1; *slash; slash++) {
    if (*slash != '/') continue;
    *slash = 0;
    mkdir(partial, 0755);
    *slash = '/';
  }
  if (mkdir(partial, 0755) != 0 && errno != EEXIST) die("%s: cannot create the directory", path);
}

static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t splitmix_seed2(uint64_t a, uint64_t b) {
  uint64_t seed = 0x6a09e667f3bcc908ull;
  seed = mix(seed ^ mix(a + 0x9e3779b97f4a7c15ull));
  return mix(seed ^ mix(b + 0x9e3779b97f4a7c15ull));
}

void shuffled_order(int64_t *order, long count, uint64_t seed) {
  for (long i = 0; i < count; i++) order[i] = i;
  uint64_t state = seed;
  for (long i = count - 1; i > 0; i--) {
    state += 0x9e3779b97f4a7c15ull;
    long j = (long)(mix(state) % (uint64_t)(i + 1));
    int64_t swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
}

static int by_name(const void *a, const void *b) {
  return strcmp((*(const hw_variable *const *)a)->tensor.name,
                (*(const hw_variable *const *)b)->tensor.name);
}

/* The header entry of one tensor: "name":{"data_offsets":[b,e],"dtype":"F32","shape":[...]}. */
static void tensor_entry(text *t, const hw_variable *v, int64_t begin) {
  quoted(t, v->tensor.name);
  text_add(t, ":{\"data_offsets\":[%lld,%lld],\"dtype\":\"F32\",\"shape\":[", (long long)begin,
           (long long)(begin + 4 * hw_tensor_elements(&v->tensor, 1)));
  for (int d = 0; d < v->tensor.rank; d++)
    text_add(t, "%s%lld", d ? "," : "", (long long)hw_poly_at(v->tensor.shape[d], 1));
  text_add(t, "]}");
}

/* Each variable's byte offset in the data section: program order. */
static int64_t *data_offsets(const hw_program *program) {
  int64_t *offsets = malloc(((size_t)program->num_variables + 1) * sizeof(int64_t));
  offsets[0] = 0;
  for (int i = 0; i < program->num_variables; i++)
    offsets[i + 1] = offsets[i] + 4 * hw_tensor_elements(&program->variables[i].tensor, 1);
  return offsets;
}

void safetensors_write(const char *path, const hw_program *program, const float *state,
                       const char *const *keys, const char *const *values, int pairs) {
  text header = {0};
  text_add(&header, "{\"__metadata__\":{");
  for (int i = 0; i < pairs; i++) {  // the keys come sorted
    if (i) text_add(&header, ",");
    quoted(&header, keys[i]);
    text_add(&header, ":");
    quoted(&header, values[i]);
  }
  text_add(&header, "}");
  int count = program->num_variables;
  int64_t *offsets = data_offsets(program);
  const hw_variable **sorted = malloc((size_t)count * sizeof *sorted);
  for (int i = 0; i < count; i++) sorted[i] = &program->variables[i];
  qsort(sorted, (size_t)count, sizeof *sorted, by_name);
  for (int i = 0; i < count; i++) {
    text_add(&header, ",");
    tensor_entry(&header, sorted[i], offsets[sorted[i] - program->variables]);
  }
  text_add(&header, "}");
  while (header.length % 8) text_add(&header, " ");
  char temporary[4200];
  snprintf(temporary, sizeof temporary, "%s.tmp-%d", path, (int)getpid());
  FILE *file = fopen(temporary, "wb");
  if (!file) die("%s: cannot create the temporary file %s", path, temporary);
  unsigned char prefix[8];
  for (int b = 0; b < 8; b++) prefix[b] = (unsigned char)((uint64_t)header.length >> (8 * b));
  int ok = fwrite(prefix, 1, 8, file) == 8 &&
           fwrite(header.bytes, 1, header.length, file) == header.length;
  for (int i = 0; ok && i < count; i++) {
    const hw_variable *v = &program->variables[i];
    size_t n = (size_t)hw_tensor_elements(&v->tensor, 1);
    ok = fwrite((const char *)state + v->tensor.offset, 4, n, file) == n;
  }
  ok = fflush(file) == 0 && fsync(fileno(file)) == 0 && ok;
  if (fclose(file) != 0 || !ok) {
    unlink(temporary);
    die("%s: cannot write the temporary file %s", path, temporary);
  }
  if (rename(temporary, path) != 0) {
    unlink(temporary);
    die("%s: cannot rename %s over it", path, temporary);
  }
  free(sorted);
  free(offsets);
  free(header.bytes);
}

/* Reads a JSON string starting at its opening quote into `out`; returns the byte after it. */
static const char *json_read_string(const char *p, text *out) {
  if (*p != '"') return NULL;
  out->length = 0;
  text_add(out, "%s", "");
  for (p++; *p && *p != '"'; p++) {
    if (*p != '\\') {
      text_add(out, "%c", *p);
      continue;
    }
    p++;
    static const char escaped[] = "\"\\/bfnrt", meant[] = "\"\\/\b\f\n\r\t";
    const char *plain = *p ? strchr(escaped, *p) : NULL;
    if (plain) {
      text_add(out, "%c", meant[plain - escaped]);
    } else if (*p == 'u' && strlen(p) >= 5) {
      char hex[5] = {p[1], p[2], p[3], p[4], 0};
      text_add(out, "%c", (char)strtol(hex, NULL, 16));
      p += 4;
    } else {
      return NULL;
    }
  }
  return *p == '"' ? p + 1 : NULL;
}

/* The value of metadata `key` in a header, or NULL. */
static char *metadata(const char *header, const char *key) {
  const char *p = strstr(header, "{\"__metadata__\":{");
  if (!p) return NULL;
  p += strlen("{\"__metadata__\":{");
  text name = {0}, value = {0};
  while (p && *p == '"') {
    p = json_read_string(p, &name);
    if (!p || *p++ != ':') break;
    p = json_read_string(p, &value);
    if (p && strcmp(name.bytes, key) == 0) {
      free(name.bytes);
      return value.bytes;
    }
    if (p && *p == ',') p++;
  }
  free(name.bytes);
  free(value.bytes);
  return NULL;
}

long safetensors_resume(const char *path, const hw_program *program, float *state,
                        const char *config) {
  FILE *file = fopen(path, "rb");
  if (!file) die("%s: cannot open the checkpoint to resume from", path);
  unsigned char prefix[8];
  if (fread(prefix, 1, 8, file) != 8)
    die("%s: offset 0: shorter than the 8-byte header size", path);
  uint64_t length = 0;
  for (int b = 0; b < 8; b++) length |= (uint64_t)prefix[b] << (8 * b);
  if (length > (1u << 30)) die("%s: offset 0: header size %llu is implausible", path,
                              (unsigned long long)length);
  char *header = malloc(length + 1);
  if (fread(header, 1, length, file) != length) die("%s: offset 8: header cut short", path);
  header[length] = 0;
  char *format = metadata(header, "format"), *step = metadata(header, "step");
  char *saved = metadata(header, "config");
  if (!format || strcmp(format, "headway-checkpoint-1") != 0 || !step || !saved)
    die("%s: not a Headway checkpoint (metadata needs format, step and config)", path);
  if (strcmp(saved, config) != 0)
    die("%s belongs to a different run: its config is %s, this run's is %s; resume with the "
        "same options", path, saved, config);
  for (int i = 0; i < program->num_variables; i++) {
    const hw_variable *v = &program->variables[i];
    text needle = {0};
    text_add(&needle, "%s", "");
    quoted(&needle, v->tensor.name);
    text_add(&needle, ":{\"data_offsets\":[");
    const char *at = strstr(header, needle.bytes);
    if (!at) die("%s: no tensor '%s'", path, v->tensor.name);
    long long begin, end;
    if (sscanf(at + needle.length, "%lld,%lld", &begin, &end) != 2 ||
        end - begin != 4 * hw_tensor_elements(&v->tensor, 1))
      die("%s: tensor '%s' does not have the program's size", path, v->tensor.name);
    if (fseek(file, (long)(8 + length + (uint64_t)begin), SEEK_SET) != 0 ||
        fread((char *)state + v->tensor.offset, 1, (size_t)(end - begin), file) !=
            (size_t)(end - begin))
      die("%s: offset %lld: tensor '%s' cut short", path, 8 + (long long)length + begin,
          v->tensor.name);
    free(needle.bytes);
  }
  fclose(file);
  long result = strtol(step, NULL, 10);
  free(format);
  free(step);
  free(saved);
  free(header);
  return result;
}
