// A self-signed certificate and its key, made with the OpenSSL API at test time and written as
// PEM files in a directory of their own (removed with the object). Tests only; link OpenSSL.
#pragma once

#include "hg_catch.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace hg_test {

struct tls_files {
  std::filesystem::path dir;
  std::string cert;
  std::string key;
  /// `common_name` is the subject's CN; `alt_names` ("DNS:localhost,IP:127.0.0.1"), when not
  /// empty, the subjectAltName extension that host name verification reads. `tag` keeps two
  /// users in one process apart.
  explicit tls_files(const std::string& common_name, const std::string& alt_names = "",
                     const std::string& tag = "tls") {
    dir = std::filesystem::temp_directory_path() / ("hg-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    REQUIRE(pkey != nullptr);
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    if (!alt_names.empty()) {
      X509V3_CTX ctx;
      X509V3_set_ctx_nodb(&ctx);
      X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
      X509_EXTENSION* san =
          X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, alt_names.c_str());
      REQUIRE(san != nullptr);
      X509_add_ext(x, san, -1);
      X509_EXTENSION_free(san);
    }
    REQUIRE(X509_sign(x, pkey, EVP_sha256()) > 0);
    FILE* f = std::fopen(cert.c_str(), "w");
    REQUIRE(f != nullptr);
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key.c_str(), "w");
    REQUIRE(f != nullptr);
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~tls_files() { std::filesystem::remove_all(dir); }
  tls_files(const tls_files&) = delete;
  tls_files& operator=(const tls_files&) = delete;
};

}  // namespace hg_test
