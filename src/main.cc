// baton's entry point: everything lives in src/cli (commands.h).
#include "cli/commands.h"

int main(int argc, char** argv) { return baton::cli::run_cli(argc, argv); }
