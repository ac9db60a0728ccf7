// baton audit verify RUN | baton audit export RUN [-o FILE]: check a run's event
// chain (store/audit.h) and write it as JSON Lines (docs/audit.md).
//
// Exit codes: 0 the chain is intact; 1 it is broken (export still writes the file,
// its header says where); 2 no state database or no such run; 4 the database or
// the output file could not be read or written.
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/open_run.h"
#include "store/audit.h"
#include "store/store.h"

namespace baton::cli {

namespace {

// Opens the project's store and resolves RUN_ARG ("last", an id or a unique prefix)
// into *RUN_ID; prints why not and sets *EXIT_CODE when it cannot.
std::unique_ptr<store::Store> open_audited_run(const std::string& run_arg, std::string* run_id,
                                               int* exit_code) {
  auto opened = open_run(run_arg);
  if (!opened) {
    *exit_code = opened.error();
    return nullptr;
  }
  *run_id = opened->run.id;
  return std::move(opened->store);
}

int verify_command(const std::string& run_arg) {
  int exit_code = kExitSuccess;
  std::string run_id;
  auto store = open_audited_run(run_arg, &run_id, &exit_code);
  if (!store) return exit_code;
  auto report = store::verify_run(*store, run_id);
  if (!report) {
    std::fprintf(stderr, "baton: %s\n", report.error().message.c_str());
    return kExitInternal;
  }
  if (!report->ok()) {
    std::printf("run %s: %s: %s\n", run_id.c_str(),
                report->row_mismatch ? "rows do not match the chain" : "chain broken",
                report->problem.c_str());
    return kExitRunFailed;
  }
  std::printf("run %s: %lld events, chain intact; head hash %s\n", run_id.c_str(),
              static_cast<long long>(report->events), report->head_hash.c_str());
  return kExitSuccess;
}

// Writes the export to PATH through PATH.tmp and a rename, so PATH is never half
// written. Prints the error and returns false on failure.
bool export_to_file(store::Store& store, const std::string& run_id, const std::string& path,
                    store::ChainReport* report) {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::fprintf(stderr, "baton: cannot write %s\n", tmp.c_str());
    return false;
  }
  auto written = store::export_run(store, run_id, out, static_cast<double>(std::time(nullptr)));
  out.close();
  std::error_code ec;
  if (!written || !out) {
    const std::string message = written ? "cannot write " + tmp : written.error().message;
    std::fprintf(stderr, "baton: %s\n", message.c_str());
    std::filesystem::remove(tmp, ec);
    return false;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::fprintf(stderr, "baton: cannot rename %s to %s: %s\n", tmp.c_str(), path.c_str(),
                 ec.message().c_str());
    std::filesystem::remove(tmp, ec);
    return false;
  }
  *report = *written;
  return true;
}

int export_command(const std::string& run_arg, const std::string& output) {
  int exit_code = kExitSuccess;
  std::string run_id;
  auto store = open_audited_run(run_arg, &run_id, &exit_code);
  if (!store) return exit_code;
  store::ChainReport report;
  if (output.empty() || output == "-") {
    auto written =
        store::export_run(*store, run_id, std::cout, static_cast<double>(std::time(nullptr)));
    if (!written) {
      std::fprintf(stderr, "baton: %s\n", written.error().message.c_str());
      return kExitInternal;
    }
    report = *written;
  } else if (!export_to_file(*store, run_id, output, &report)) {
    return kExitInternal;
  }
  if (!report.ok()) {
    std::fprintf(stderr, "baton: run %s: %s: %s\n", run_id.c_str(),
                 report.row_mismatch ? "rows do not match the chain" : "chain broken",
                 report.problem.c_str());
    return kExitRunFailed;
  }
  return kExitSuccess;
}

}  // namespace

void add_audit(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("audit", "Verify or export a run's tamper-evident event log");
  cmd->require_subcommand(1);

  auto* verify = cmd->add_subcommand("verify", "Recompute a run's event hash chain");
  auto verify_run = std::make_shared<std::string>();
  verify->add_option("RUN", *verify_run, kRunHelp)->required();
  verify->callback([=] { *exit_code = verify_command(*verify_run); });

  auto* exp = cmd->add_subcommand("export", "Write a run's events as JSON Lines");
  auto export_run = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  exp->add_option("RUN", *export_run, kRunHelp)->required();
  exp->add_option("-o,--output", *output, "write to FILE instead of standard output");
  exp->callback([=] { *exit_code = export_command(*export_run, *output); });
}

}  // namespace baton::cli
