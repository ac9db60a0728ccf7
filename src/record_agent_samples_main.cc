// baton-record-agent-samples: records the agent CLIs' output for the parser tests
// (tests/fixtures/agents/) against the rehearsal server, or checks that the
// checked-in recordings still match what the pinned CLIs print (src/recording/).
//
//   baton-record-agent-samples --out DIR [--only TEXT] [-j N]
//       records every case (or those whose file name contains TEXT) into DIR and
//       writes DIR/INDEX.json (exit codes, merged with an existing index).
//   baton-record-agent-samples --check DIR [--only TEXT] [-j N]
//       records afresh into memory and compares each case with DIR's by what
//       baton parses from it; exit 1 and both summaries on a difference, 77 when
//       no pinned CLI is installed (scripts/setup-agents), 0 when all match.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "recording/samples.h"

namespace {

using baton::recording::SampleCase;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int usage() {
  std::cerr << "usage: baton-record-agent-samples (--out DIR | --check DIR) [--only TEXT] "
               "[-j N] [--source-dir DIR]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir, check_dir, only, source_dir = BATON_SOURCE_DIR;
  int jobs = 2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--out") {
      out_dir = value();
    } else if (a == "--check") {
      check_dir = value();
    } else if (a == "--only") {
      only = value();
    } else if (a == "-j") {
      jobs = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--source-dir") {
      source_dir = value();
    } else {
      return usage();
    }
  }
  if (out_dir.empty() == check_dir.empty()) return usage();
  const std::string bin_dir = baton::recording::agents_bin_dir(source_dir);
  const std::string dir = out_dir.empty() ? check_dir : out_dir;

  std::map<std::string, int> index;
  if (auto parsed = baton::recording::parse_index(read_file(dir + "/INDEX.json"))) {
    index = *parsed;
  } else if (!check_dir.empty()) {
    std::cerr << check_dir << ": " << parsed.error().message << "\n";
    return 1;
  }

  std::vector<const SampleCase*> todo;
  int skipped = 0;
  for (const SampleCase& c : baton::recording::sample_cases()) {
    if (!only.empty() && c.file.find(only) == std::string::npos) continue;
    if (!baton::recording::cli_installed(c, bin_dir)) {
      std::cout << "skip " << c.file << ": " << c.agent << " is not installed in " << bin_dir
                << " (scripts/setup-agents)\n";
      ++skipped;
      continue;
    }
    todo.push_back(&c);
  }
  if (todo.empty()) {
    std::cout << "no case to record\n";
    return skipped > 0 ? 77 : 1;
  }

  std::mutex mu;
  std::atomic<size_t> next{0};
  int failures = 0;
  auto worker = [&] {
    for (size_t i = next++; i < todo.size(); i = next++) {
      const SampleCase& c = *todo[i];
      // Codex will not create its sandbox helper under /tmp (docs/rehearsal.md).
      auto rec = baton::recording::record_sample(c, bin_dir, "/var/tmp");
      std::lock_guard<std::mutex> lock(mu);
      if (!rec) {
        std::cout << "FAIL " << c.file << ": " << rec.error().message << "\n";
        ++failures;
        continue;
      }
      std::printf("%-48s exit %3d  %6.1f s\n", c.file.c_str(), rec->exit_code, rec->seconds);
      if (!out_dir.empty()) {
        std::ofstream(out_dir + "/" + c.file, std::ios::binary) << rec->text;
        index[c.file] = rec->exit_code;
        continue;
      }
      auto it = index.find(c.file);
      std::string diff = it == index.end()
                             ? c.file + ": not in INDEX.json\n"
                             : baton::recording::compare_samples(
                                   c, it->second, read_file(dir + "/" + c.file), *rec);
      if (!diff.empty()) {
        std::cout << "MISMATCH " << diff;
        ++failures;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  if (!out_dir.empty()) {
    std::ofstream(out_dir + "/INDEX.json") << baton::recording::index_json(index);
  }
  std::cout << todo.size() - failures << " of " << todo.size() << " cases "
            << (out_dir.empty() ? "match" : "recorded") << ", " << skipped << " skipped\n";
  return failures == 0 ? 0 : 1;
}
