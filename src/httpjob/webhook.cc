#include "httpjob/webhook.h"

namespace baton::httpjob {

namespace {

using nlohmann::json;

Result<std::string> pointer_field(const json& w, const char* key, bool required) {
  auto it = w.find(key);
  if (it == w.end()) {
    if (required) return fail(std::string("webhook: missing '") + key + "'");
    return std::string();
  }
  if (!it->is_string() || it->get<std::string>().empty() || it->get<std::string>()[0] != '/') {
    return fail(std::string("webhook: '") + key + "' must be a JSON pointer starting with /");
  }
  try {
    json::json_pointer check(it->get<std::string>());
  } catch (const json::exception&) {
    return fail(std::string("webhook: '") + key + "' is not a valid JSON pointer");
  }
  return it->get<std::string>();
}

}  // namespace

Result<std::optional<Webhook>> parse_webhook(const json& j) {
  if (!j.is_object() || !j.contains("webhook")) return std::optional<Webhook>();
  const json& w = j["webhook"];
  if (!w.is_object()) return fail("webhook: expected an object");
  Webhook out;
  auto url = pointer_field(w, "url", true);
  if (!url) return tl::unexpected(url.error());
  out.url_field = *url;
  const std::string verify = w.value("verify", "");
  if (verify == "hmac") {
    out.verify = WebhookVerify::kHmac;
  } else if (verify != "bearer") {
    return fail("webhook: verify must be bearer or hmac");
  }
  auto secret = pointer_field(w, "secret", out.verify == WebhookVerify::kHmac);
  if (!secret) {
    return fail(out.verify == WebhookVerify::kHmac ? "webhook: hmac needs 'secret'"
                                                   : secret.error().message);
  }
  out.secret_field = *secret;
  auto id = pointer_field(w, "id", true);
  if (!id) return tl::unexpected(id.error());
  out.id_field = *id;
  auto status = pointer_field(w, "status", false);
  if (!status) return tl::unexpected(status.error());
  out.status_field = *status;
  return std::optional<Webhook>(out);
}

Result<json> with_webhook(json body, const Webhook& w, const std::string& url,
                          const std::string& secret) {
  if (!body.is_object()) body = json::object();
  try {
    body[json::json_pointer(w.url_field)] = url;
    if (w.verify == WebhookVerify::kHmac) body[json::json_pointer(w.secret_field)] = secret;
  } catch (const json::exception&) {
    return fail("webhook: create's body cannot take the callback URL at " + w.url_field);
  }
  return body;
}

}  // namespace baton::httpjob
