#include "kitty/file_lanes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "util/write_all.h"

namespace baton::kitty {

namespace {

namespace fs = std::filesystem;

Result<std::string> read_bounded(const std::string& path, size_t limit, bool* missing) {
  *missing = false;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    *missing = true;
    return std::string();
  }
  auto size = fs::file_size(path, ec);
  if (ec) return fail(path + ": cannot read: " + ec.message());
  if (size > limit) {
    return fail(path + ": " + std::to_string(size) + " bytes; the limit is " +
                std::to_string(limit));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<void> write_all(int fd, const std::string& data, const std::string& path) {
  if (auto written = baton::write_all(fd, data); !written) {
    return fail(path + ": cannot write: " + std::strerror(written.error().code));
  }
  return {};
}

}  // namespace

std::string new_ulid() {
  static const char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  std::random_device rd;
  std::string out(26, '0');
  for (int i = 9; i >= 0; --i) {  // 10 characters: 50 bits, the top 2 zero
    out[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  for (int i = 10; i < 26; ++i) out[i] = kAlphabet[rd() & 31];  // 16 x 5 = 80 bits
  return out;
}

std::string iso_now() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(us / 1000000);
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof buf - n, ".%06lld+00:00", static_cast<long long>(us % 1000000));
  return buf;
}

Result<void> write_file_atomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  mode_t mode = 0644;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return fail(tmp + ": cannot create: " + std::strerror(errno));
  auto written = write_all(fd, content, tmp);
  if (written && fsync(fd) != 0) written = fail(tmp + ": fsync: " + std::strerror(errno));
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail(path + ": cannot replace: " + err);
  }
  return {};
}

std::optional<std::string> replace_front_matter_lane(const std::string& text,
                                                     const std::string& lane) {
  // The front matter: from after the first line ("---") to the next "---" line.
  size_t first_nl = text.find('\n');
  if (first_nl == std::string::npos) return std::nullopt;
  size_t pos = first_nl + 1;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string_view line(text.data() + pos, end - pos);
    bool cr = !line.empty() && line.back() == '\r';
    std::string_view content = cr ? line.substr(0, line.size() - 1) : line;
    if (content == "---") return std::nullopt;
    if (content.rfind("lane:", 0) == 0) {
      std::string_view value = content.substr(5);
      size_t v = value.find_first_not_of(' ');
      std::string spaces(value.substr(0, v == std::string_view::npos ? value.size() : v));
      if (spaces.empty()) spaces = " ";
      std::string_view rest = v == std::string_view::npos ? "" : value.substr(v);
      char quote = !rest.empty() && (rest[0] == '"' || rest[0] == '\'') ? rest[0] : 0;
      // A trailing comment stays, with the blanks before it.
      std::string comment;
      size_t hash = rest.find(" #");
      if (!quote && hash != std::string_view::npos) {
        size_t value_end = rest.substr(0, hash).find_last_not_of(' ');
        comment = std::string(rest.substr(value_end == std::string_view::npos ? 0 : value_end + 1));
      } else if (quote) {
        size_t close = rest.find(quote, 1);
        if (close != std::string_view::npos) comment = std::string(rest.substr(close + 1));
      }
      std::string value_text = quote ? std::string(1, quote) + lane + quote : lane;
      std::string replaced = "lane:" + spaces + value_text + comment;
      return text.substr(0, pos) + replaced + (cr ? "\r" : "") + text.substr(end);
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return std::nullopt;
}

FileLanes::FileLanes(const workflow::KittyFeature& feature) : feature_(feature) {}

Result<void> FileLanes::load() {
  if (loaded_) return {};
  lanes_.clear();
  for (const workflow::WorkPackage& wp : feature_.work_packages) {
    if (!wp.front_matter_lane) continue;
    auto lane = parse_lane(*wp.front_matter_lane);
    if (!lane) return fail(wp.file + ": unknown lane '" + *wp.front_matter_lane + "'");
    lanes_[wp.id] = *lane;
  }
  bool missing = false;
  std::string status_path = feature_.dir + "/status.json";
  auto status = read_bounded(status_path, kMaxEventLogBytes, &missing);
  if (!status) return tl::unexpected(status.error());
  if (!missing) {
    auto j = nlohmann::json::parse(*status, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(status_path + ": not a JSON object");
    if (j.contains("work_packages") && j["work_packages"].is_object()) {
      for (auto it = j["work_packages"].begin(); it != j["work_packages"].end(); ++it) {
        if (!it.value().is_object() || !it.value().contains("lane")) continue;
        const auto& l = it.value()["lane"];
        auto lane = l.is_string() ? parse_lane(l.get<std::string>()) : std::nullopt;
        if (!lane) return fail(status_path + ": " + it.key() + ": unknown lane");
        lanes_[it.key()] = *lane;
      }
    }
  }
  std::string events_path = feature_.dir + "/status.events.jsonl";
  auto events = read_bounded(events_path, kMaxEventLogBytes, &missing);
  if (!events) return tl::unexpected(events.error());
  event_count_ = 0;
  std::istringstream in(*events);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    std::string where = events_path + ":" + std::to_string(line_no) + ": ";
    if (j.is_discarded() || !j.is_object()) return fail(where + "not a JSON object");
    if (!j.contains("wp_id") || !j["wp_id"].is_string() || !j.contains("to_lane") ||
        !j["to_lane"].is_string()) {
      return fail(where + "an event needs 'wp_id' and 'to_lane' strings");
    }
    auto lane = parse_lane(j["to_lane"].get<std::string>());
    if (!lane) return fail(where + "unknown lane '" + j["to_lane"].get<std::string>() + "'");
    std::string id = j["wp_id"];
    lanes_[id] = *lane;
    last_[id] = {j.value("actor", ""), j.value("at", "")};
    ++event_count_;
  }
  loaded_ = true;
  return {};
}

Result<std::map<std::string, Lane>> FileLanes::lanes() {
  if (auto r = load(); !r) return tl::unexpected(r.error());
  return lanes_;
}

Result<void> FileLanes::start_implementation(const std::string& wp, Lane from,
                                             const std::string& actor, const std::string& agent) {
  std::string reason = "baton starts the implementation with " + agent;
  if (from == Lane::kPlanned) {
    if (auto r = move({wp, Lane::kPlanned, Lane::kClaimed, actor, reason, "", nullptr}); !r) {
      return r;
    }
    from = Lane::kClaimed;
  }
  return move({wp, from, Lane::kInProgress, actor, reason, "", nullptr});
}

Result<void> FileLanes::move(const Move& m) {
  if (auto r = load(); !r) return r;
  if (auto r = check_move(m); !r) return r;
  auto it = lanes_.find(m.wp_id);
  Lane now = it == lanes_.end() ? Lane::kPlanned : it->second;
  if (now != m.from) {
    return fail("lane move for " + m.wp_id + " from " + to_string(m.from) + ", but it is " +
                to_string(now));
  }
  std::string at = iso_now();
  std::string id = new_ulid();
  nlohmann::json event{
      {"event_id", id},
      {"mission_slug", feature_.slug},
      {"wp_id", m.wp_id},
      {"from_lane", to_string(m.from)},
      {"to_lane", to_string(m.to)},
      {"at", at},
      {"actor", m.actor},
      {"force", false},
      {"execution_mode", "worktree"},
      {"reason", m.reason.empty() ? nlohmann::json() : nlohmann::json(m.reason)},
      {"review_ref", m.review_ref.empty() ? nlohmann::json() : nlohmann::json(m.review_ref)},
      {"evidence", m.evidence}};
  std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::string events_path = feature_.dir + "/status.events.jsonl";
  int fd =
      ::open(events_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return fail(events_path + ": cannot open: " + std::strerror(errno));
  auto written = write_all(fd, line, events_path);
  if (written && fsync(fd) != 0) written = fail(events_path + ": fsync: " + std::strerror(errno));
  ::close(fd);
  if (!written) return written;
  lanes_[m.wp_id] = m.to;
  last_[m.wp_id] = {m.actor, at};
  ++event_count_;
  if (auto r = write_status_json(at, id); !r) return r;
  for (const workflow::WorkPackage& wp : feature_.work_packages) {
    if (wp.id != m.wp_id || !wp.front_matter_lane) continue;
    bool missing = false;
    auto text = read_bounded(wp.file, workflow::kMaxWorkPackageBytes, &missing);
    if (!text) return tl::unexpected(text.error());
    auto replaced = replace_front_matter_lane(*text, to_string(m.to));
    if (!replaced) return fail(wp.file + ": its 'lane:' line is gone");
    if (auto r = write_file_atomically(wp.file, *replaced); !r) return r;
  }
  return {};
}

Result<void> FileLanes::write_status_json(const std::string& at, const std::string& event_id) {
  std::string path = feature_.dir + "/status.json";
  bool missing = false;
  nlohmann::json doc = nlohmann::json::object();
  auto old = read_bounded(path, kMaxEventLogBytes, &missing);
  if (old && !missing) {
    auto j = nlohmann::json::parse(*old, nullptr, false);
    if (!j.is_discarded() && j.is_object()) doc = std::move(j);
  }
  doc["feature_slug"] = feature_.slug;
  if (!doc.contains("work_packages") || !doc["work_packages"].is_object()) {
    doc["work_packages"] = nlohmann::json::object();
  }
  nlohmann::json summary = nlohmann::json::object();
  for (Lane l : {Lane::kPlanned, Lane::kClaimed, Lane::kInProgress, Lane::kForReview, Lane::kDone,
                 Lane::kBlocked, Lane::kCanceled}) {
    summary[to_string(l)] = 0;
  }
  std::map<std::string, Lane> all = lanes_;
  for (const workflow::WorkPackage& wp : feature_.work_packages) all.emplace(wp.id, Lane::kPlanned);
  for (const auto& [id, lane] : all) {
    summary[to_string(lane)] = summary[to_string(lane)].get<int>() + 1;
    nlohmann::json& entry = doc["work_packages"][id];
    if (!entry.is_object()) entry = nlohmann::json::object();
    entry["lane"] = to_string(lane);
    auto last = last_.find(id);
    if (last != last_.end()) {
      entry["actor"] = last->second.first;
      entry["last_transition_at"] = last->second.second;
    }
  }
  doc["summary"] = summary;
  doc["event_count"] = event_count_;
  doc["last_event_id"] = event_id;
  doc["materialized_at"] = at;
  return write_file_atomically(path, doc.dump(2) + "\n");
}

}  // namespace baton::kitty
