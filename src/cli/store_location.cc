#include "cli/store_location.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/exit_codes.h"
#include "store/open_store.h"

namespace baton::cli {

std::string& store_option() {
  static std::string option;
  return option;
}

std::string configured_store() {
  if (!store_option().empty()) return store_option();
  const char* env = std::getenv("BATON_STORE");
  return env ? env : "";
}

bool shared_store() { return store::is_postgres_url(configured_store()); }

std::string store_location(const std::string& state_dir) {
  std::string configured = configured_store();
  return configured.empty() ? state_dir + "/state.db" : configured;
}

store::PgStoreOptions command_pg_options() {
  store::PgStoreOptions options;
  if (const char* env = std::getenv("BATON_LEASE_SECONDS")) {
    char* end = nullptr;
    const double seconds = std::strtod(env, &end);
    if (end != env && seconds >= 0.3) options.lease_seconds = seconds;
  }
  options.on_lease_lost = [](const std::string&, const std::string& why) {
    std::fprintf(stderr, "baton: %s; stopping: another baton runs the run now\n", why.c_str());
    std::fflush(stderr);
    _exit(kExitBusy);
  };
  return options;
}

Result<std::unique_ptr<store::Store>> open_state_store(const std::string& location) {
  return store::open_store(location, command_pg_options());
}

}  // namespace baton::cli
