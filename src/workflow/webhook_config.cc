#include "workflow/webhook_config.h"

#include <algorithm>

#include "util/http_url.h"
#include "workflow/scalar_position.h"
#include "workflow/yaml_reader.h"

namespace baton::workflow {
namespace {

const std::vector<std::string> kWebhookKeys = {"url", "events", "secret"};
const std::vector<std::string> kSecretKeys = {"env", "file"};

void read_secret(const YamlEntry& e, const std::string& where, DiagnosticSink& sink,
                 WebhookDef* def) {
  if (!e.value.IsMap() || e.value.size() != 1) {
    sink.error(e.value_loc(), "expected {env: NAME} or {file: PATH} for 'secret'" + where);
    return;
  }
  for (const YamlEntry& s : map_entries(e.value, &kSecretKeys, where, sink)) {
    if (!s.value.IsScalar() || s.value.Scalar().empty()) {
      sink.error(s.value_loc(), "expected a non-empty string for '" + s.key + "'" + where);
      continue;
    }
    (s.key == "env" ? def->secret_env : def->secret_file) = s.value.Scalar();
  }
}

void read_events(const YamlEntry& e, const std::string& where, DiagnosticSink& sink,
                 WebhookDef* def) {
  if (!e.value.IsSequence()) {
    sink.error(e.value_loc(), "expected a list of event types for 'events'" + where);
    return;
  }
  for (size_t i = 0; i < e.value.size(); ++i) {
    YamlNode item = e.value[i];
    const std::string& type = item.Scalar();
    if (!item.IsScalar() || std::find(kWebhookEventTypes.begin(), kWebhookEventTypes.end(), type) ==
                                kWebhookEventTypes.end()) {
      std::string known;
      for (const std::string& t : kWebhookEventTypes) known += (known.empty() ? "" : ", ") + t;
      sink.error(loc_of(item.Mark()),
                 "unknown event type '" + type + "'" + where + " (known: " + known + ")");
      continue;
    }
    def->events.push_back(type);
  }
}

}  // namespace

void read_webhooks(const YamlNode& list, DiagnosticSink& sink, std::vector<WebhookDef>* out) {
  if (!list.IsSequence()) {
    sink.error(loc_of(list.Mark()), "expected a list of endpoints for 'webhooks'");
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    YamlNode item = list[i];
    const std::string where = " in webhook " + std::to_string(i + 1);
    if (!item.IsMap()) {
      sink.error(loc_of(item.Mark()), "expected a mapping {url, events, secret}" + where);
      continue;
    }
    WebhookDef def;
    def.loc = loc_of(item.Mark());
    bool has_url = false, has_secret = false;
    for (const YamlEntry& e : map_entries(item, &kWebhookKeys, where, sink)) {
      if (e.key == "url") {
        has_url = true;
        if (!e.value.IsScalar() || !split_http_url(e.value.Scalar()).has_value()) {
          sink.error(e.value_loc(), "expected an http:// or https:// URL for 'url'" + where);
          continue;
        }
        def.url = e.value.Scalar();
      } else if (e.key == "events") {
        read_events(e, where, sink, &def);
      } else if (e.key == "secret") {
        has_secret = true;
        read_secret(e, where, sink, &def);
      }
    }
    if (!has_url) sink.error(def.loc, "missing 'url'" + where);
    if (!has_secret) sink.error(def.loc, "missing 'secret'" + where);
    out->push_back(std::move(def));
  }
}

}  // namespace baton::workflow
