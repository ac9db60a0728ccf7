#include "httpjob/input.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/env_var.h"

namespace baton::httpjob {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxQuestionBytes = 4096;
constexpr size_t kMaxLogScanBytes = 64 * 1024 * 1024;

// The variables of a result line's "vars" object (strings only).
Vars vars_of(const json& line) {
  Vars out;
  if (line.contains("vars") && line["vars"].is_object()) {
    for (const auto& [k, v] : line["vars"].items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

}  // namespace

std::string safe_question(const std::string& question) {
  std::string out = question;
  if (out.size() > kMaxQuestionBytes) {
    size_t cut = kMaxQuestionBytes;
    // Back off UTF-8 continuation bytes so that no character is split.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "... (" + std::to_string(question.size()) + " bytes)";
  }
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) c = ' ';
  }
  return out;
}

std::string question_of(const json& value) {
  if (value.is_object() && !value.contains("value") && !value.empty() &&
      value.begin()->is_array()) {
    return question_text(*value.begin());
  }
  return question_text(value);
}

std::optional<Vars> waiting_job(const std::string& url, const std::string& profile) {
  std::string log = env_or("BATON_ATTEMPT_LOG", "");
  std::string task = env_or("BATON_TASK_ID", "");
  int attempt = std::atoi(env_or("BATON_ATTEMPT", "0").c_str());
  if (log.empty() || task.empty() || attempt <= 1) return std::nullopt;
  fs::path dir = fs::path(log).parent_path();
  for (int n = attempt - 1; n >= 1; --n) {
    std::ifstream in(dir / (task + "." + std::to_string(n) + ".log"), std::ios::binary);
    if (!in) continue;
    bool ours = false;
    std::optional<Vars> waiting;
    size_t read = 0;
    for (std::string line; std::getline(in, line) && read < kMaxLogScanBytes;) {
      read += line.size() + 1;
      if (line.rfind("{\"", 0) != 0 || line.find("\"httpjob\"") == std::string::npos) continue;
      json j = json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("httpjob")) continue;
      std::string kind = j.value("httpjob", "");
      // A re-attaching attempt has no dispatch line, only its job line.
      if ((kind == "dispatch" || kind == "job") && j.value("url", "") == url &&
          j.value("profile", "") == profile) {
        ours = true;
      }
      if (kind == "result" && ours) {
        waiting.reset();
        if (j.value("state", "") == "needs_input") waiting = vars_of(j);
      }
    }
    if (ours) return waiting;
  }
  return std::nullopt;
}

std::string abandoned_job_note(std::string_view log) {
  std::string url, profile;
  std::optional<Vars> waiting;
  size_t at = 0;
  while (at < log.size()) {
    size_t eol = log.find('\n', at);
    std::string_view line = log.substr(at, eol == std::string_view::npos ? log.npos : eol - at);
    at = eol == std::string_view::npos ? log.size() : eol + 1;
    if (line.rfind("{\"", 0) != 0 || line.find("\"httpjob\"") == std::string_view::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    std::string kind = j.value("httpjob", "");
    if (kind == "dispatch" || kind == "job") {
      url = j.value("url", "");
      profile = j.value("profile", "");
    } else if (kind == "result") {
      waiting.reset();
      if (j.value("state", "") == "needs_input") waiting = vars_of(j);
    }
  }
  if (!waiting || !waiting->count("id")) return "";
  std::string where = waiting->count("thread_id") && profile.rfind("langgraph", 0) == 0
                          ? "thread " + waiting->at("thread_id")
                          : "job " + waiting->at("id");
  return where + " of " + url +
         " is left waiting for input: nothing runs there while it waits, and no answer is sent";
}

}  // namespace baton::httpjob
