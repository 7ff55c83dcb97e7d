/*
 * pullwatch's ClickHouse launcher: loads the full ClickHouse engine shipped as libchdb.so
 * (npm package @chdb/lib-linux-x64-gnu) and runs clickhouse-local with the given argv, so that
 * the engine can serve its standard HTTP interface on 127.0.0.1.
 *
 * A real process (not an FFI call from Node) because ClickHouse checks its own stack bounds,
 * which fail inside a foreign thread; here it runs on the main thread like the server does.
 *
 * usage: chdb-launcher /path/to/libchdb.so clickhouse --path=DIR --http_port=PORT ... "--query=..."
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

struct local_result_v2 {
  char *buf;
  size_t len;
  void *_vec;
  double elapsed;
  unsigned long long rows_read;
  unsigned long long bytes_read;
  char *error_message;
};

typedef struct local_result_v2 *(*query_stable_v2_fn)(int argc, char **argv);

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LIBCHDB_SO clickhouse [clickhouse-local arguments...]\n", argv[0]);
    return 64;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    fprintf(stderr, "chdb-launcher: cannot load %s: %s\n", argv[1], dlerror());
    return 69;
  }
  query_stable_v2_fn query = (query_stable_v2_fn)dlsym(lib, "query_stable_v2");
  if (!query) {
    fprintf(stderr, "chdb-launcher: %s has no query_stable_v2: %s\n", argv[1], dlerror());
    return 69;
  }
  struct local_result_v2 *result = query(argc - 2, argv + 2);
  if (result && result->error_message) {
    fprintf(stderr, "chdb-launcher: %s\n", result->error_message);
    return 1;
  }
  if (result && result->buf && result->len) fwrite(result->buf, 1, result->len, stdout);
  return 0;
}
