// https: a POST to a TLS receiver on 127.0.0.1 (cpp-httplib's SSLServer, a certificate
// made here) is refused while the certificate is not trusted, and delivered once it is
// (through OpenSSL's default verify paths: SSL_CERT_FILE). No network, no files but the
// test's own.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "webhooks/http_post.h"

namespace baton::webhooks {
namespace {

// Writes a self-signed certificate for IP 127.0.0.1 (CA:TRUE, so it can be its own
// trust anchor) and its key as PEM files. False on any OpenSSL failure.
bool make_certificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                              std::pair{NID_subject_alt_name, "IP:127.0.0.1"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      ok = ok && ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
      X509_EXTENSION_free(ext);
    }
    ok = ok && X509_sign(cert, key, EVP_sha256()) > 0;
  }
  FILE* c = ok ? std::fopen(cert_path.c_str(), "w") : nullptr;
  FILE* k = ok ? std::fopen(key_path.c_str(), "w") : nullptr;
  ok = ok && c && k && PEM_write_X509(c, cert) == 1 &&
       PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (c) std::fclose(c);
  if (k) std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "baton-https-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(make_certificate(dir_ + "/cert.pem", dir_ + "/key.pem"));
    server_ = std::make_unique<httplib::SSLServer>((dir_ + "/cert.pem").c_str(),
                                                   (dir_ + "/key.pem").c_str());
    ASSERT_TRUE(server_->is_valid());
    server_->Post("/hook", [this](const httplib::Request&, httplib::Response& res) {
      ++posts_;
      res.status = 204;
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // httplib has no "listening" event and stop() is a no-op before is_running().
    for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    unsetenv("SSL_CERT_FILE");
    std::filesystem::remove_all(dir_);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/hook"; }

  std::string dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> posts_{0};
};

TEST_F(HttpsTest, AnUntrustedCertificateIsRefusedATrustedOneIsDelivered) {
  setenv("SSL_CERT_FILE", "/nonexistent", 1);  // no CA at all: nothing is trusted
  HttpOutcome refused = post_json(url(), {}, "{}", 5);
  EXPECT_FALSE(refused.status.has_value());
  EXPECT_EQ(refused.error, "TLS certificate not trusted");
  EXPECT_EQ(posts_.load(), 0);

  setenv("SSL_CERT_FILE", (dir_ + "/cert.pem").c_str(), 1);
  HttpOutcome delivered = post_json(url(), {{"webhook-id", "msg_1"}}, "{}", 5);
  EXPECT_EQ(delivered.status, 204) << delivered.error;
  EXPECT_EQ(posts_.load(), 1);
}

}  // namespace
}  // namespace baton::webhooks
