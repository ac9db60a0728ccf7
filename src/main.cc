// baton's entry point: everything lives in src/cli (commands.h). `baton __supervise` is
// the fallback attempt supervisor (exec/supervisor.h), dispatched before anything else.
#include <cstring>

#include "cli/commands.h"
#include "exec/supervisor.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "__supervise") == 0) {
    return baton::exec::supervisor_main(argc, argv);
  }
  return baton::cli::run_cli(argc, argv);
}
