/*
 * MixUp Studio's native folder diff (N-API, POSIX). An unchanged rescan spends its time on one stat per file;
 * from JavaScript each costs a path resolution from the root, a Stats object and its garbage. Here one call per
 * folder reads the folder, stats every known file relative to the folder's descriptor (on several threads in a
 * big folder: no JavaScript value is touched off the calling thread), compares size and mtime with the scan
 * snapshot, and hands back only what JavaScript must look at itself: entries that are not
 * known files, or whose size or mtime differ. The rules about what an entry means (hidden, extension, links,
 * classes) stay in JavaScript (src-main/datasets/scan.ts), which also walks without this addon.
 *
 * Snapshot layout (src-main/datasets/snapshot.ts): `rels` is the UTF-8 relative paths joined by NUL, grouped
 * by folder; `nums` is five doubles per row: id, bytes, mtime (ms), class id, split code.
 *
 *   groups(rels, count) -> [prefix, firstRow, rows, byteStart, ...] | null (null: rows of a folder are not contiguous)
 *   diff(dir, rels, byteStart, rows, firstRow, prefixBytes, nums, seen)
 *     -> [unchanged, name, kind, row, name, kind, row, ...] | "ERRNO-CODE"
 *     kind: 0 regular file, 1 folder, 2 symbolic link, 3 anything else, 4 a name that is not UTF-8 (JavaScript gets
 *     it with U+FFFD in place of the bad bytes and cannot open it); row: the snapshot row of that name or -1.
 *     Every unchanged row gets seen[row] = 1.
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#define CHECK(call)                                                                                       \
  do {                                                                                                    \
    if ((call) != napi_ok) {                                                                              \
      napi_throw_error(env, NULL, "fastwalk: N-API call failed: " #call);                                 \
      return NULL;                                                                                        \
    }                                                                                                     \
  } while (0)

#define PER_ROW 5

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* An open-addressing table of byte slices; values are indices. */
typedef struct {
  const char **keys;
  size_t *lens;
  int64_t *vals;
  size_t cap;
  size_t used;
} table_t;

static int table_init(table_t *t, size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2 + 1) cap <<= 1;
  t->keys = calloc(cap, sizeof(*t->keys));
  t->lens = calloc(cap, sizeof(*t->lens));
  t->vals = calloc(cap, sizeof(*t->vals));
  t->cap = cap;
  t->used = 0;
  return t->keys && t->lens && t->vals ? 0 : -1;
}

static void table_free(table_t *t) {
  free(t->keys);
  free(t->lens);
  free(t->vals);
}

/* The slot of key: holding it, or the empty slot where it would go. */
static size_t table_slot(const table_t *t, const char *key, size_t len) {
  size_t i = (size_t)hash_bytes(key, len) & (t->cap - 1);
  while (t->keys[i] && !(t->lens[i] == len && memcmp(t->keys[i], key, len) == 0)) i = (i + 1) & (t->cap - 1);
  return i;
}

static int table_grow(table_t *t) {
  table_t bigger;
  if (table_init(&bigger, t->cap) != 0) return -1;
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->keys[i]) continue;
    size_t s = table_slot(&bigger, t->keys[i], t->lens[i]);
    bigger.keys[s] = t->keys[i];
    bigger.lens[s] = t->lens[i];
    bigger.vals[s] = t->vals[i];
    bigger.used++;
  }
  table_free(t);
  *t = bigger;
  return 0;
}

static napi_value set_index(napi_env env, napi_value arr, uint32_t *at, napi_value v) {
  if (napi_set_element(env, arr, (*at)++, v) != napi_ok) return NULL;
  return arr;
}

/* The call's first n arguments into argv; 0 (with a JavaScript exception pending) when there are fewer. */
static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *what) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "fastwalk: N-API call failed: napi_get_cb_info");
    return 0;
  }
  if (argc < n) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  return 1;
}

static napi_value groups(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "fastwalk.groups: 2 arguments expected")) return NULL;
  char *rels;
  size_t relsLen;
  CHECK(napi_get_buffer_info(env, argv[0], (void **)&rels, &relsLen));
  int64_t count;
  CHECK(napi_get_value_int64(env, argv[1], &count));
  napi_value out, nul;
  CHECK(napi_create_array(env, &out));
  CHECK(napi_get_null(env, &nul));
  if (count <= 0) return out;

  table_t seen;
  if (table_init(&seen, 64) != 0) {
    napi_throw_error(env, NULL, "fastwalk: out of memory");
    return NULL;
  }
  uint32_t at = 0;
  size_t pos = 0;
  int64_t row = 0;
  const char *curPrefix = NULL;
  size_t curLen = 0;
  int64_t curFirst = 0;
  size_t curStart = 0;
  napi_value result = out;
  for (;; row++) {
    int end = row == count;
    const char *rel = rels + pos;
    size_t len = 0, prefixLen = 0;
    if (!end) {
      if (pos > relsLen) {
        result = nul;
        break;
      }
      const char *nulAt = memchr(rel, 0, relsLen - pos);
      len = nulAt ? (size_t)(nulAt - rel) : relsLen - pos;
      const char *slash = NULL;
      for (size_t i = len; i > 0; i--)
        if (rel[i - 1] == '/') {
          slash = rel + i - 1;
          break;
        }
      prefixLen = slash ? (size_t)(slash - rel) : 0;
    }
    if (end || !curPrefix || prefixLen != curLen || memcmp(rel, curPrefix, curLen) != 0) {
      if (curPrefix) {
        napi_value v;
        if (napi_create_string_utf8(env, curPrefix, curLen, &v) != napi_ok || !set_index(env, out, &at, v) ||
            napi_create_int64(env, curFirst, &v) != napi_ok || !set_index(env, out, &at, v) ||
            napi_create_int64(env, row - curFirst, &v) != napi_ok || !set_index(env, out, &at, v) ||
            napi_create_int64(env, (int64_t)curStart, &v) != napi_ok || !set_index(env, out, &at, v)) {
          table_free(&seen);
          napi_throw_error(env, NULL, "fastwalk: N-API call failed");
          return NULL;
        }
      }
      if (end) break;
      if (seen.used * 2 >= seen.cap && table_grow(&seen) != 0) {
        table_free(&seen);
        napi_throw_error(env, NULL, "fastwalk: out of memory");
        return NULL;
      }
      size_t s = table_slot(&seen, rel, prefixLen);
      if (seen.keys[s]) {
        /* This folder's rows came earlier and stopped: not grouped. */
        result = nul;
        break;
      }
      seen.keys[s] = rel;
      seen.lens[s] = prefixLen;
      seen.used++;
      curPrefix = rel;
      curLen = prefixLen;
      curFirst = row;
      curStart = pos;
    }
    pos += len + 1;
  }
  if (result != nul && pos < relsLen) result = nul; /* more text than rows */
  table_free(&seen);
  return result;
}

typedef struct {
  char *name;
  size_t len;
  int kind;
  int unchanged;
  int64_t row;
} entry_t;

/* Whether the bytes are UTF-8 as V8 decodes it without replacing anything (RFC 3629: no overlongs, surrogates). */
static int valid_utf8(const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    size_t more;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) more = 1;
    else if (c == 0xE0) more = 2, lo = 0xA0;
    else if (c == 0xED) more = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) more = 2;
    else if (c == 0xF0) more = 3, lo = 0x90;
    else if (c == 0xF4) more = 3, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) more = 3;
    else return 0;
    if (i + more >= n) return 0; /* cut short */
    if (p[i + 1] < lo || p[i + 1] > hi) return 0;
    for (size_t k = 2; k <= more; k++)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return 0;
    i += more + 1;
  }
  return 1;
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const entry_t *)a)->name, ((const entry_t *)b)->name);
}

/* Entries per stat thread (a folder of fewer has one), and the most threads. */
#define STAT_PER_THREAD 256
#define MAX_THREADS 8
#define CLAIM 64

typedef struct {
  int dfd;
  entry_t *ents;
  size_t n;
  const double *nums;
  size_t next; /* claimed with atomics, CLAIM entries at a time */
} stat_job_t;

/* Marks each known regular file whose size and mtime equal its snapshot row's. Touches no JavaScript value. */
static void *stat_worker(void *arg) {
  stat_job_t *job = arg;
  for (;;) {
    size_t from = __atomic_fetch_add(&job->next, CLAIM, __ATOMIC_RELAXED);
    if (from >= job->n) break;
    size_t to = from + CLAIM < job->n ? from + CLAIM : job->n;
    for (size_t i = from; i < to; i++) {
      entry_t *en = &job->ents[i];
      if (en->kind != 0 || en->row < 0 || en->name[0] == '.') continue;
      struct stat st;
      if (fstatat(job->dfd, en->name, &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
      /* Exactly Node's Stats.mtimeMs: sec * 1e3 + nsec / 1e6, in doubles, no fused multiply-add. */
#ifdef __APPLE__
      double sec = (double)st.st_mtimespec.tv_sec, nsec = (double)st.st_mtimespec.tv_nsec;
#else
      double sec = (double)st.st_mtim.tv_sec, nsec = (double)st.st_mtim.tv_nsec;
#endif
      volatile double ms = sec * 1e3;
      double mtimeMs = ms + nsec / 1e6;
      const double *r = job->nums + en->row * PER_ROW;
      en->unchanged = r[1] == (double)st.st_size && r[2] == mtimeMs;
    }
  }
  return NULL;
}

static const char *errno_code(int e) {
  switch (e) {
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EPERM: return "EPERM";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case ESTALE: return "ESTALE";
    case EOVERFLOW: return "EOVERFLOW";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINTR: return "EINTR";
    default: return "EIO";
  }
}

static napi_value diff(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!get_args(env, info, 8, argv, "fastwalk.diff: 8 arguments expected")) return NULL;
  /* Room for any path the system takes (PATH_MAX 4096 counts the NUL); a longer one is refused as open() would. */
  char dir[8192];
  size_t dirLen;
  CHECK(napi_get_value_string_utf8(env, argv[0], dir, sizeof dir, &dirLen));
  if (dirLen >= sizeof dir - 1) {
    napi_value code;
    CHECK(napi_create_string_utf8(env, "ENAMETOOLONG", NAPI_AUTO_LENGTH, &code));
    return code;
  }
  char *rels;
  size_t relsLen;
  CHECK(napi_get_buffer_info(env, argv[1], (void **)&rels, &relsLen));
  int64_t byteStart, rows, firstRow, prefixBytes;
  CHECK(napi_get_value_int64(env, argv[2], &byteStart));
  CHECK(napi_get_value_int64(env, argv[3], &rows));
  CHECK(napi_get_value_int64(env, argv[4], &firstRow));
  CHECK(napi_get_value_int64(env, argv[5], &prefixBytes));
  napi_typedarray_type numsType, seenType;
  size_t numsLen, seenLen;
  void *numsData, *seenData;
  CHECK(napi_get_typedarray_info(env, argv[6], &numsType, &numsLen, &numsData, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[7], &seenType, &seenLen, &seenData, NULL, NULL));
  if (numsType != napi_float64_array || seenType != napi_uint8_array || byteStart < 0 || rows < 0 || firstRow < 0 ||
      prefixBytes < 0 || (size_t)byteStart > relsLen || (size_t)(firstRow + rows) * PER_ROW > numsLen ||
      (size_t)(firstRow + rows) > seenLen) {
    napi_throw_range_error(env, NULL, "fastwalk.diff: snapshot range out of bounds");
    return NULL;
  }
  const double *nums = numsData;
  uint8_t *seen = seenData;

  /* The folder's known names (the part after its prefix), by name. */
  table_t known;
  if (table_init(&known, (size_t)rows) != 0) {
    napi_throw_error(env, NULL, "fastwalk: out of memory");
    return NULL;
  }
  size_t pos = (size_t)byteStart;
  for (int64_t i = 0; i < rows && pos <= relsLen; i++) {
    const char *rel = rels + pos;
    const char *nulAt = memchr(rel, 0, relsLen - pos);
    size_t len = nulAt ? (size_t)(nulAt - rel) : relsLen - pos;
    if ((size_t)prefixBytes <= len) {
      size_t s = table_slot(&known, rel + prefixBytes, len - (size_t)prefixBytes);
      if (!known.keys[s]) {
        known.keys[s] = rel + prefixBytes;
        known.lens[s] = len - (size_t)prefixBytes;
        known.vals[s] = firstRow + i;
        known.used++;
      }
    }
    pos += len + 1;
  }

  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    int e = errno;
    if (dfd >= 0) close(dfd);
    table_free(&known);
    napi_value code;
    CHECK(napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code));
    return code;
  }
  /* Phase 1: read the folder. Every entry is kept; known regular files are marked for a stat. */
  entry_t *ents = NULL;
  size_t n = 0, cap = 0;
  int failed = 0;
  struct dirent *e;
  for (;;) {
    errno = 0;
    e = readdir(d);
    if (!e) {
      if (errno) failed = errno;
      break;
    }
    const char *name = e->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat lst;
      if (fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) != 0) type = DT_REG; /* gone: let JavaScript say so */
      else if (S_ISREG(lst.st_mode)) type = DT_REG;
      else if (S_ISDIR(lst.st_mode)) type = DT_DIR;
      else if (S_ISLNK(lst.st_mode)) type = DT_LNK;
      else type = DT_FIFO;
    }
    if (n == cap) {
      size_t more = cap ? cap * 2 : 64;
      entry_t *grown = realloc(ents, more * sizeof(*ents));
      if (!grown) {
        failed = ENOMEM;
        break;
      }
      ents = grown;
      cap = more;
    }
    size_t nameLen = strlen(name);
    char *copy = malloc(nameLen + 1);
    if (!copy) {
      failed = ENOMEM;
      break;
    }
    memcpy(copy, name, nameLen + 1);
    entry_t *en = &ents[n++];
    en->name = copy;
    en->len = nameLen;
    en->kind = type == DT_REG ? 0 : type == DT_DIR ? 1 : type == DT_LNK ? 2 : 3;
    en->row = -1;
    en->unchanged = 0;
    if (!valid_utf8((const unsigned char *)name, nameLen)) en->kind = 4; /* JavaScript cannot name it: no row, no stat */
    else if (known.used) {
      size_t slot = table_slot(&known, name, nameLen);
      if (known.keys[slot]) en->row = known.vals[slot];
    }
  }

  /* Phase 2: stat the known regular files, on several threads when there are many (the stat calls are the cost). */
  if (!failed) {
    stat_job_t job = {dfd, ents, n, nums, 0};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = (n + STAT_PER_THREAD - 1) / STAT_PER_THREAD;
    if (threads > (size_t)(cpus > 0 ? cpus : 1)) threads = (size_t)(cpus > 0 ? cpus : 1);
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    pthread_t tids[MAX_THREADS];
    size_t started = 0;
    for (size_t t = 1; t < threads; t++)
      if (pthread_create(&tids[started], NULL, stat_worker, &job) == 0) started++;
    stat_worker(&job);
    for (size_t t = 0; t < started; t++) pthread_join(tids[t], NULL);
  }

  /* Entries for JavaScript, sorted by name as libuv sorts a readdir (strcmp), so both walks see one order. */
  int64_t unchanged = 0;
  size_t restLen = 0;
  for (size_t i = 0; i < n; i++) {
    if (ents[i].unchanged) {
      seen[ents[i].row] = 1;
      unchanged++;
      free(ents[i].name);
    } else ents[restLen++] = ents[i];
  }
  n = restLen;
  closedir(d);
  table_free(&known);
  napi_value out = NULL;
  if (!failed) {
    qsort(ents, n, sizeof(*ents), entry_cmp);
    uint32_t at = 0;
    napi_value v;
    if (napi_create_array_with_length(env, 1 + n * 3, &out) != napi_ok || napi_create_int64(env, unchanged, &v) != napi_ok ||
        !set_index(env, out, &at, v))
      failed = -1;
    for (size_t i = 0; i < n && !failed; i++) {
      if (napi_create_string_utf8(env, ents[i].name, ents[i].len, &v) != napi_ok || !set_index(env, out, &at, v) ||
          napi_create_int32(env, ents[i].kind, &v) != napi_ok || !set_index(env, out, &at, v) ||
          napi_create_int64(env, ents[i].row, &v) != napi_ok || !set_index(env, out, &at, v))
        failed = -1;
    }
  }
  for (size_t i = 0; i < n; i++) free(ents[i].name);
  free(ents);
  if (failed == -1) {
    napi_throw_error(env, NULL, "fastwalk: N-API call failed");
    return NULL;
  }
  if (failed) {
    napi_value code;
    CHECK(napi_create_string_utf8(env, errno_code(failed), NAPI_AUTO_LENGTH, &code));
    return code;
  }
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "groups", NAPI_AUTO_LENGTH, groups, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "groups", fn) != napi_ok)
    return NULL;
  if (napi_create_function(env, "diff", NAPI_AUTO_LENGTH, diff, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "diff", fn) != napi_ok)
    return NULL;
  return exports;
}
