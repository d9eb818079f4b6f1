#include "hashguard/scanner/digest.hpp"

#include <openssl/evp.h>

#include <new>

namespace hashguard::scanner {

namespace {

struct md_free {
  void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct ctx_free {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using md_ptr = std::unique_ptr<EVP_MD, md_free>;

}  // namespace

// OpenSSL 3 looks an algorithm up in its provider tables on every EVP_md5()-style use;
// fetching once per digester keeps that out of the per-image cost.
struct digester::state {
  md_ptr md5{EVP_MD_fetch(nullptr, "MD5", nullptr)};
  md_ptr sha1{EVP_MD_fetch(nullptr, "SHA1", nullptr)};
  md_ptr sha256{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  std::unique_ptr<EVP_MD_CTX, ctx_free> ctx{EVP_MD_CTX_new()};

  template <std::size_t N>
  bool run(const EVP_MD* md, std::span<const std::uint8_t> bytes,
           std::array<std::uint8_t, N>& out) noexcept {
    if (md == nullptr || ctx == nullptr) return false;
    unsigned int length = 0;
    return EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
           EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) == 1 &&
           EVP_DigestFinal_ex(ctx.get(), out.data(), &length) == 1 && length == N;
  }
};

digester::digester() : state_(std::make_unique<state>()) {}
digester::~digester() = default;
digester::digester(digester&&) noexcept = default;
digester& digester::operator=(digester&&) noexcept = default;

core::result<digests> digester::digest(std::span<const std::uint8_t> bytes) noexcept {
  digests d;
  if (!state_->run(state_->md5.get(), bytes, d.md5) ||
      !state_->run(state_->sha1.get(), bytes, d.sha1) ||
      !state_->run(state_->sha256.get(), bytes, d.sha256)) {
    return errc::digest_failed;
  }
  return d;
}

core::result<digests> digest(std::span<const std::uint8_t> bytes) noexcept {
  try {
    digester d;
    return d.digest(bytes);
  } catch (const std::bad_alloc&) {
    return errc::out_of_memory;
  }
}

}  // namespace hashguard::scanner
