#include "hashguard/api/auth.hpp"

#include "hashguard/core/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <stdexcept>

namespace hashguard::api {
namespace {

std::uint64_t prefix_of(const key_digest& d) {
  std::uint64_t v = 0;
  std::memcpy(&v, d.data(), sizeof v);
  return v;
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

key_digest digest_key(std::string_view key) {
  key_digest out{};
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    // Only an OpenSSL without SHA-256 gets here; refusing every key is the safe answer.
    throw std::runtime_error("SHA-256 unavailable");
  }
  return out;
}

std::string key_id_of(const key_digest& digest) {
  return "k_" + core::to_hex(std::span<const std::uint8_t>(digest.data(), 6));
}

std::optional<std::string_view> bearer_token(std::string_view value) {
  constexpr std::string_view scheme = "bearer";
  if (value.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != scheme[i]) return std::nullopt;
  }
  std::string_view rest = value.substr(scheme.size());
  if (rest.empty() || !is_space(rest.front())) return std::nullopt;
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && is_space(rest.back())) rest.remove_suffix(1);
  if (rest.empty()) return std::nullopt;
  if (std::any_of(rest.begin(), rest.end(), is_space)) return std::nullopt;
  return rest;
}

key_set::key_set(std::vector<key_record> records) : records_(std::move(records)) {
  for (std::size_t i = 0; i < records_.size(); ++i) {
    by_prefix_[prefix_of(records_[i].digest)].push_back(i);
  }
}

const key_record* key_set::find(const key_digest& digest) const {
  auto it = by_prefix_.find(prefix_of(digest));
  if (it == by_prefix_.end()) return nullptr;
  const key_record* found = nullptr;
  // Every candidate is compared in full, in constant time, with no early exit.
  for (std::size_t i : it->second) {
    const key_record& r = records_[i];
    if (CRYPTO_memcmp(r.digest.data(), digest.data(), digest.size()) == 0) found = &r;
  }
  return found;
}

key_registry::key_registry()
    : records_(std::make_shared<const std::vector<key_record>>()),
      set_(std::make_shared<const key_set>()) {}

void key_registry::replace(std::vector<key_record> records) {
  auto set = std::make_shared<const key_set>(records);
  auto list = std::make_shared<const std::vector<key_record>>(std::move(records));
  std::lock_guard lock(mu_);
  records_ = std::move(list);
  set_ = std::move(set);
}

void key_registry::add(std::vector<key_record> records) {
  std::vector<key_record> merged = this->records();
  for (auto& r : records) {
    auto same = std::find_if(merged.begin(), merged.end(),
                             [&](const key_record& m) { return m.digest == r.digest; });
    if (same != merged.end()) {
      *same = std::move(r);
    } else {
      merged.push_back(std::move(r));
    }
  }
  replace(std::move(merged));
}

std::optional<key_record> key_registry::authenticate(std::string_view presented_key) const {
  const key_digest d = digest_key(presented_key);
  std::shared_ptr<const key_set> set;
  {
    std::lock_guard lock(mu_);
    set = set_;
  }
  const key_record* r = set->find(d);
  if (r == nullptr) return std::nullopt;
  return *r;
}

std::size_t key_registry::size() const {
  std::lock_guard lock(mu_);
  return set_->size();
}

std::vector<key_record> key_registry::records() const {
  std::lock_guard lock(mu_);
  return *records_;
}

rate_limiter::rate_limiter(double default_rate_per_s, double default_burst)
    : default_rate_(default_rate_per_s), default_burst_(default_burst) {}

rate_limiter::decision rate_limiter::take(std::string_view key_id, double rate_per_s, double burst,
                                          clock::time_point now) {
  const double rate = rate_per_s > 0 ? rate_per_s : default_rate_;
  if (rate <= 0) return {};
  double cap = burst > 0 ? burst : default_burst_;
  if (cap < 1) cap = std::max(1.0, rate);
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(std::string(key_id));
  bucket& b = it->second;
  if (inserted) {
    b.tokens = cap;
    b.last = now;
  } else if (now > b.last) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(cap, b.tokens + elapsed * rate);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  const double wait_s = (1.0 - b.tokens) / rate;
  return {false, std::max(1, static_cast<int>(std::ceil(wait_s)))};
}

}  // namespace hashguard::api
