#include "hashguard/hashdb/evidence.hpp"

#include "audit_internal.hpp"
#include "crypto.hpp"
#include "pg.hpp"

#include "hashguard/core/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <boost/json.hpp>

#include <cstring>
#include <memory>

namespace hashguard::hashdb {
namespace {

struct ctx_free {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_free>;

// The additional authenticated data: where the blob belongs.
std::string place_aad(std::int64_t case_id, std::string_view content_hex, std::string_view key_id) {
  std::string aad = "hashguard-evidence-v1;case=" + std::to_string(case_id) + ";content=";
  aad += content_hex;
  aad += ";key=";
  aad += key_id;
  return aad;
}

template <std::size_t N>
std::array<std::uint8_t, N> fixed_bytes(const pqxx::field& f) {
  std::array<std::uint8_t, N> out{};
  pqxx::binarystring b(f);
  if (b.size() == N) std::memcpy(out.data(), b.data(), N);
  return out;
}

}  // namespace

core::result<evidence_key> parse_evidence_key(std::string_view id, std::string_view hex) {
  if (id.empty() || id.size() > 64 || hex.size() != 64) return errc::invalid_argument;
  evidence_key k;
  k.id = std::string(id);
  if (!core::parse_hex_into(hex, k.bytes)) return errc::invalid_argument;
  return k;
}

core::result<sealed_blob> seal(const evidence_key& key, std::string_view plain,
                               std::string_view aad) {
  sealed_blob b;
  b.key_id = key.id;
  if (!detail::random_bytes(b.nonce.data(), b.nonce.size())) return errc::io_error;
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  b.ciphertext.resize(plain.size());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes.data(), b.nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), b.ciphertext.data(), &len,
                        reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), b.ciphertext.data() + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, b.tag.data()) != 1) {
    return errc::io_error;
  }
  return b;
}

core::result<std::string> open(const evidence_key& key, const sealed_blob& blob,
                               std::string_view aad) {
  if (blob.key_id != key.id) return errc::integrity;
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  std::string plain(blob.ciphertext.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  int len = 0;
  std::array<std::uint8_t, 16> tag = blob.tag;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes.data(), blob.nonce.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, blob.ciphertext.data(),
                        static_cast<int>(blob.ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1) {
    return errc::integrity;
  }
  // The tag check happens here: nothing decrypted is returned unless it passes.
  if (EVP_DecryptFinal_ex(ctx.get(), out + len, &len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return errc::integrity;
  }
  return plain;
}

void declare_evidence_config(core::config& c) {
  using core::config_type;
  c.declare("evidence.enabled", config_type::boolean, "false",
            "preserve matched content, encrypted (AES-256-GCM), for reviewers and reports");
  c.declare("evidence.key_id", config_type::string, "k1",
            "id stored with each sealed file (name a rotated key)");
  c.declare("evidence.key", config_type::secret, "",
            "the 32-byte evidence key as 64 hex characters (required when enabled)");
}

core::result<std::optional<evidence_key>> read_evidence_config(const core::config& c) {
  if (!c.get_bool("evidence.enabled")) return std::optional<evidence_key>{};
  auto k = parse_evidence_key(c.get_string("evidence.key_id"), c.get_string("evidence.key"));
  if (!k) return k.error();
  return std::optional<evidence_key>(std::move(*k));
}

core::result<void> evidence_store::preserve(std::int64_t case_id, std::string_view content_hex,
                                            std::string_view bytes, std::string_view media_type,
                                            std::string_view actor) {
  auto blob = seal(key_, bytes, place_aad(case_id, content_hex, key_.id));
  if (!blob) return blob.error();
  const std::string digest = core::to_hex(detail::sha256(bytes));
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    const auto file = tx.exec_params(
        "SELECT 1 FROM case_files WHERE case_id = $1 AND content = decode($2, 'hex')", case_id,
        std::string(content_hex));
    if (file.empty()) throw abort_with{errc::not_found, "no such file in the case"};
    const auto inserted = tx.exec_params(
        "INSERT INTO evidence (case_id, content, key_id, nonce, ciphertext, tag, plain_sha256,"
        " media_type) VALUES ($1, decode($2, 'hex'), $3, decode($4, 'hex'), decode($5, 'hex'),"
        " decode($6, 'hex'), decode($7, 'hex'), $8) ON CONFLICT DO NOTHING RETURNING 1",
        case_id, std::string(content_hex), blob->key_id, core::to_hex(blob->nonce),
        core::to_hex(blob->ciphertext), core::to_hex(blob->tag), digest, std::string(media_type));
    if (!inserted.empty()) {
      boost::json::object d{{"content", content_hex},
                            {"key_id", blob->key_id},
                            {"sha256", digest},
                            {"bytes", bytes.size()}};
      detail::audit_append(tx, actor, "evidence.preserve", "case:" + std::to_string(case_id),
                           boost::json::serialize(d));
    }
    tx.commit();
  });
}

core::result<revealed> evidence_store::reveal(std::int64_t case_id, std::string_view content_hex,
                                              std::string_view actor, std::string_view purpose,
                                              reveal_mode mode) {
  bool failed = false;
  auto r = guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    const auto rows = tx.exec_params(
        "SELECT key_id, nonce, ciphertext, tag, encode(plain_sha256, 'hex'), media_type"
        " FROM evidence WHERE case_id = $1 AND content = decode($2, 'hex')",
        case_id, std::string(content_hex));
    if (rows.empty()) throw abort_with{errc::not_found, "no evidence for this file"};
    sealed_blob blob;
    blob.key_id = rows[0][0].as<std::string>();
    blob.nonce = fixed_bytes<12>(rows[0][1]);
    pqxx::binarystring ct(rows[0][2]);
    blob.ciphertext.assign(ct.data(), ct.data() + ct.size());
    blob.tag = fixed_bytes<16>(rows[0][3]);
    auto plain = open(key_, blob, place_aad(case_id, content_hex, blob.key_id));
    const std::string stored_digest = rows[0][4].as<std::string>();
    boost::json::object d{{"content", content_hex}, {"purpose", purpose}, {"key_id", blob.key_id}};
    if (!plain || core::to_hex(detail::sha256(*plain)) != stored_digest) {
      // Refused: recorded in its own committed transaction below the rollback of this one.
      failed = true;
      throw abort_with{errc::integrity, "evidence failed authentication"};
    }
    const bool original = mode == reveal_mode::original;
    const char* action = original                             ? "evidence.reveal"
                         : mode == reveal_mode::report_upload ? "evidence.report_upload"
                                                              : "evidence.preview";
    detail::audit_append(tx, actor, action, "case:" + std::to_string(case_id),
                         boost::json::serialize(d));
    if (original) {
      // Seen as it is by this person: the provider viewed the file (fileViewedByEsp), and
      // this actor may now dismiss it.
      tx.exec_params0(
          "UPDATE case_files SET viewed_by = coalesce(viewed_by, $3),"
          " viewed_at = coalesce(viewed_at, now())"
          " WHERE case_id = $1 AND content = decode($2, 'hex')",
          case_id, std::string(content_hex), std::string(actor));
      tx.exec_params0(
          "INSERT INTO evidence_views (case_id, content, viewer)"
          " VALUES ($1, decode($2, 'hex'), $3) ON CONFLICT DO NOTHING",
          case_id, std::string(content_hex), std::string(actor));
    }
    tx.commit();
    return revealed{std::move(*plain), rows[0][5].as<std::string>(), stored_digest};
  });
  if (!r && failed) {
    (void)guarded(conn_, [&](pqxx::connection& pc) {
      pqxx::work tx(pc);
      boost::json::object d{{"content", content_hex}, {"purpose", purpose}};
      detail::audit_append(tx, actor, "evidence.reveal_failed", "case:" + std::to_string(case_id),
                           boost::json::serialize(d));
      tx.commit();
    });
  }
  return r;
}

core::result<preserve_outcome> evidence_store::preserve_event(std::string_view event_id,
                                                              std::string_view bytes,
                                                              std::string_view media_type,
                                                              std::string_view actor,
                                                              preserve_policy policy) {
  std::optional<std::int64_t> case_id;
  std::string content;
  std::string harm_type;
  auto found = guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    const auto rows = tx.exec_params(
        "SELECT e.case_id, encode(e.sha256, 'hex'), c.harm_type FROM events e"
        " LEFT JOIN cases c ON c.id = e.case_id WHERE e.id = $1::uuid",
        std::string(event_id));
    if (rows.empty()) throw abort_with{errc::not_found, "no such event (yet)"};
    if (!rows[0][0].is_null()) case_id = rows[0][0].as<std::int64_t>();
    if (!rows[0][1].is_null()) content = rows[0][1].as<std::string>();
    if (!rows[0][2].is_null()) harm_type = rows[0][2].as<std::string>();
  });
  if (!found) return found.error();
  if (!case_id) return preserve_outcome::no_case;
  if (!policy.preserves(harm_type)) return preserve_outcome::harm_type_off;
  // The bytes must be the ones the event describes: never seal other content into a case.
  if (content.empty() || core::to_hex(detail::sha256(bytes)) != content) {
    return errc::invalid_argument;
  }
  if (auto r = preserve(*case_id, content, bytes, media_type, actor); !r) return r.error();
  return preserve_outcome::stored;
}

core::result<evidence_purge> evidence_store::purge_expired(std::string_view actor,
                                                           int false_positive_days) {
  return purge_evidence(conn_, actor, false_positive_days);
}

core::result<evidence_purge> purge_evidence(connection& c, std::string_view actor,
                                            int false_positive_days,
                                            std::optional<std::int64_t> only_case, bool dry_run) {
  return guarded(c, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    evidence_purge out;
    const auto rows = tx.exec_params(
        "SELECT v.case_id, encode(v.content, 'hex'),"
        " hg_hold_reason(c.report_hold_until, c.legal_hold, c.legal_hold_until,"
        "                c.legal_hold_reason) IS NOT NULL FROM evidence v"
        " JOIN cases c ON c.id = v.case_id"
        " WHERE ((c.preserve_until IS NOT NULL AND c.preserve_until < now())"
        "    OR (c.status = 'false_positive'"
        "        AND c.dismissed_at + make_interval(days => $2) < now()))"
        "   AND ($1::bigint IS NULL OR c.id = $1)"
        " ORDER BY v.case_id, v.content FOR UPDATE OF v",
        only_case, false_positive_days);
    for (const auto& row : rows) {
      const auto id = row[0].as<std::int64_t>();
      if (row[2].as<bool>()) {
        if (out.held.empty() || out.held.back() != id) out.held.push_back(id);
        continue;
      }
      const std::string content = row[1].as<std::string>();
      if (dry_run) {
        out.purged.emplace_back(id, content);
        continue;
      }
      tx.exec_params0("DELETE FROM evidence WHERE case_id = $1 AND content = decode($2, 'hex')", id,
                      content);
      detail::audit_append(tx, actor, "evidence.purge", "case:" + std::to_string(id),
                           boost::json::serialize(boost::json::object{{"content", content}}));
      out.purged.emplace_back(id, content);
    }
    tx.commit();
    return out;
  });
}

}  // namespace hashguard::hashdb
