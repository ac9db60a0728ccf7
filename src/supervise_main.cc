// baton-supervise: the per-attempt supervisor program (exec/supervisor.h). Kept apart
// from `baton` so that it is small: it links no libuv, SQLite, OpenSSL or YAML.
#include "exec/supervisor.h"

int main(int argc, char** argv) { return baton::exec::supervisor_main(argc, argv); }
