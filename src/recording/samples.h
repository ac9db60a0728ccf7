// Recorded agent CLI output: the fixtures of the agents component's parser tests
// (tests/fixtures/agents/), how each one is recorded, and how a fresh recording is
// compared with the checked-in one.
//
// Every case runs one pinned agent CLI (.agents/node_modules/.bin, package.json)
// headless in a fresh git repository with a scratch HOME, against the scripted model
// server of src/rehearse/ on 127.0.0.1. The command line is the one baton itself
// builds (Invoker::build_command plus agents::rehearsal_env), with the edits a case
// lists (another output format, a flag left out to provoke a refusal). The server
// plays the case's steps: write hello.txt then answer "done", or a fault.
//
// A recording keeps the stream the parser reads (stdout, or stderr for CLIs that
// report failures there), with the machine's paths and the server's port replaced
// by WORKDIR, HOME, TMPDIR and PORT. What stays volatile (session ids, timestamps,
// durations, retry delays) is not compared byte for byte: compare_samples() parses
// both recordings with the agent's invoker and compares what baton reads from them.
//
// Thread safety: record_sample() may run on several threads at once (each case has
// its own server, directory and child process); the rest is pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/error.h"

namespace baton::recording {

/// One edit of baton's command line for a case.
struct ArgEdit {
  enum class Kind {
    kDrop,    ///< remove FLAG (and the value after it when `value` is "1")
    kSet,     ///< replace the value after FLAG with VALUE
    kAppend,  ///< append FLAG (and VALUE, when not empty) before the prompt/"-"/"--"
  };
  Kind kind = Kind::kDrop;
  std::string flag;
  std::string value;
};

/// Which stream of the CLI a fixture keeps.
enum class Stream { kStdout, kStderr };

/// One recorded case.
struct SampleCase {
  std::string file;   ///< fixture file name, e.g. "claude_json_success.json"
  std::string agent;  ///< baton's agent name: claude, codex, ..., auggie
  std::string what;   ///< one line: the mode and what happened
  std::string steps;  ///< the server's step list for the session, as YAML
  std::vector<ArgEdit> edits;
  std::map<std::string, std::string> env;  ///< set over the rehearsal environment
  Stream stream = Stream::kStdout;
  std::string prompt = "create hello.txt";
  std::string model;    ///< "" = rehearsal_env's default
  bool server = true;   ///< false: the CLI is run without a server (auggie)
  int timeout_s = 240;  ///< the CLI's process group is killed after this
};

/// Every case, in the order of the fixtures' README.
const std::vector<SampleCase>& sample_cases();

/// What one recording produced.
struct Recording {
  int exit_code = -1;  ///< -1: killed at the timeout, or could not start
  std::string text;    ///< the kept stream, normalized (see normalize_paths)
  double seconds = 0;  ///< wall time of the CLI's process
};

/// Where the pinned CLIs are: SOURCE_DIR/.agents/node_modules/.bin.
std::string agents_bin_dir(const std::string& source_dir);

/// Whether the executable of CASE's agent is installed in BIN_DIR.
bool cli_installed(const SampleCase& sample, const std::string& bin_dir);

/// Records CASE: creates a scratch directory under SCRATCH_PARENT (a git repository
/// with one empty commit, and a HOME), starts a server playing CASE.steps, runs the
/// CLI from BIN_DIR there and removes the directory again. Errors: the scratch
/// directory, git or the server could not be set up (the CLI failing is a result).
Result<Recording> record_sample(const SampleCase& sample, const std::string& bin_dir,
                                const std::string& scratch_parent);

/// TEXT with each of the (path or string, placeholder) pairs replaced, longest first,
/// so "WORKDIR/hello.txt" stays the same on every machine.
std::string normalize_paths(std::string text,
                            const std::vector<std::pair<std::string, std::string>>& replacements);

/// What baton reads from a recording: the invoker's parse of it, the exit code, and
/// for JSON output the distinct event types. Volatile values (session id, cost,
/// retry delay) are kept only as "present" or "absent".
std::string parsed_summary(const SampleCase& sample, int exit_code, const std::string& text);

/// The fixtures' index (INDEX.json in the fixture directory): file -> {"agent",
/// "exit", "what"}. Parser tests and compare_samples take the exit code from it.
std::string index_json(const std::map<std::string, int>& exit_codes);

/// The exit codes in an INDEX.json text; an error when it is not one.
Result<std::map<std::string, int>> parse_index(const std::string& text);

/// Differences between the checked-in recording and a fresh one of CASE: "" when
/// their parsed summaries are equal, else both summaries.
std::string compare_samples(const SampleCase& sample, int checked_in_exit,
                            const std::string& checked_in, const Recording& fresh);

}  // namespace baton::recording
