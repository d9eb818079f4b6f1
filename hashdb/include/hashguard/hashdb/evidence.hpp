// Evidence preservation (off by default): the matched content of a case file, kept encrypted.
//
// Only content that matched is ever stored: `hashguard serve` hands the bytes of a scan whose
// match event was recorded to preserve_event(), and only when preservation is enabled; a
// no_match scan is never kept. Each file is sealed with AES-256-GCM
// (OpenSSL EVP) under the configured 32-byte key: a fresh random 96-bit nonce per file, the
// 128-bit tag stored beside the ciphertext, and the additional data binding the ciphertext to
// its place (case id, content key, key id), so a row copied onto another case does not open.
// The key id is stored so a rotated key can still be named; the key itself never is.
//
// reveal() decrypts for a reviewer, in one of two modes, each audited in the same transaction
// as the read:
//  - reveal_mode::original ("evidence.reveal"): the caller shows the original bytes unblurred
//    to that person. Only this marks the file viewed: by the provider (case_files.viewed_by/
//    viewed_at, the first viewer; CyberTipline fileViewedByEsp) and by this actor
//    (evidence_views, which a dismissal needs: cases.hpp).
//  - reveal_mode::preview ("evidence.preview"): the bytes are for the caller to reduce to a
//    blurred preview and never show or send as they are. Never marks the file viewed.
//  - reveal_mode::report_upload ("evidence.report_upload"): the bytes go, in memory only, to
//    NCMEC in a CyberTipline upload (reporting/); nobody sees them: never marks the file viewed.
// A tampered ciphertext or tag, or the wrong key, is refused (errc::integrity) and audited as
// a failed reveal.
// purge_evidence() deletes evidence whose case's preservation deadline passed, and evidence of
// false-positive cases once their retention (false_positive_days after dismissal) is over,
// unless the case is on legal hold; deleting a case removes its evidence (foreign key).
// An evidence_store borrows a connection (one per thread).
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/hashdb/database.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

using evidence_key_bytes = std::array<std::uint8_t, 32>;

/// A configured key: its id (stored with each sealed file) and the 32 key bytes.
struct evidence_key {
  std::string id;
  evidence_key_bytes bytes{};
};

/// 64 hex characters -> a key. errc::invalid_argument otherwise.
[[nodiscard]] core::result<evidence_key> parse_evidence_key(std::string_view id,
                                                            std::string_view hex);

/// One sealed file.
struct sealed_blob {
  std::string key_id;
  std::array<std::uint8_t, 12> nonce{};
  std::vector<std::uint8_t> ciphertext;
  std::array<std::uint8_t, 16> tag{};
};

/// Encrypts with a fresh random nonce. errc::io_error when OpenSSL fails (no randomness).
[[nodiscard]] core::result<sealed_blob> seal(const evidence_key& key, std::string_view plain,
                                             std::string_view aad);
/// Decrypts and checks the tag. errc::integrity for a wrong key (by id or bytes), a tampered
/// ciphertext, tag, nonce or additional data.
[[nodiscard]] core::result<std::string> open(const evidence_key& key, const sealed_blob& blob,
                                             std::string_view aad);

/// evidence.enabled (boolean, false), evidence.key_id, evidence.key (secret, 64 hex).
void declare_evidence_config(core::config& c);
/// nullopt when preservation is off; errc::invalid_argument when on with a malformed key.
[[nodiscard]] core::result<std::optional<evidence_key>> read_evidence_config(const core::config& c);

struct revealed {
  std::string bytes;
  std::string media_type;
  std::string sha256;  ///< hex SHA-256 of the bytes (checked against the stored one)
};

struct evidence_purge {
  std::vector<std::pair<std::int64_t, std::string>> purged;  ///< (case id, content hex)
  std::vector<std::int64_t> held;                            ///< expired, on legal hold
};

/// What preserve_event did.
enum class preserve_outcome : std::uint8_t {
  stored,   ///< sealed into the event's case (or already kept there: the first copy stays)
  no_case,  ///< the event joined no case (its content is suppressed): nothing kept
  /// The case is ncii or tvec and preservation of that harm type is off (preserve_policy):
  /// nothing kept. Evidence preservation by default is for csam only (README "Harm types").
  harm_type_off,
};

/// Which cases' content preserve_event() seals, by harm type: csam always (while evidence is
/// on), ncii and tvec only when configured (evidence.preserve_ncii, evidence.preserve_tvec).
struct preserve_policy {
  bool ncii{false};
  bool tvec{false};
  [[nodiscard]] bool preserves(std::string_view harm_type) const noexcept {
    return harm_type == "csam" || (harm_type == "ncii" && ncii) || (harm_type == "tvec" && tvec);
  }
};

/// Deletes the evidence whose case's preservation deadline passed, and the evidence of
/// false-positive cases dismissed more than `false_positive_days` ago (case_options'), unless
/// the case is on legal hold; audited per file ("evidence.purge"). With `only_case`, that case
/// alone. `dry_run` reports without deleting. Needs no key.
[[nodiscard]] core::result<evidence_purge> purge_evidence(
    connection& c, std::string_view actor, int false_positive_days,
    std::optional<std::int64_t> only_case = {}, bool dry_run = false);

/// How revealed bytes will be shown (see above).
enum class reveal_mode : std::uint8_t { original, preview, report_upload };

class evidence_store {
 public:
  evidence_store(connection& c, evidence_key key) noexcept : conn_(c), key_(std::move(key)) {}

  /// Seals and stores the content of one file of a case (content_hex: the case_files key).
  /// Storing the same file again keeps the first copy. errc::not_found when the case has no
  /// such file.
  [[nodiscard]] core::result<void> preserve(std::int64_t case_id, std::string_view content_hex,
                                            std::string_view bytes, std::string_view media_type,
                                            std::string_view actor);
  /// Preserves the scanned bytes of a recorded match event in the event's case, under the
  /// content key of its SHA-256 (the case_files key of content the caller sent).
  /// errc::not_found while the event is not in the database (spooled, not yet replayed: retry
  /// later); errc::invalid_argument when the bytes' SHA-256 is not the event's.
  /// preserve_outcome::harm_type_off (nothing stored) for a case `policy` does not preserve.
  [[nodiscard]] core::result<preserve_outcome> preserve_event(std::string_view event_id,
                                                              std::string_view bytes,
                                                              std::string_view media_type,
                                                              std::string_view actor,
                                                              preserve_policy policy = {});
  /// Decrypts for `actor` and audits the reveal with its purpose; reveal_mode::original marks
  /// the file viewed (by the provider and by `actor`), reveal_mode::preview never does.
  /// errc::not_found (no evidence), errc::integrity (refused; audited as evidence.reveal_failed).
  [[nodiscard]] core::result<revealed> reveal(std::int64_t case_id, std::string_view content_hex,
                                              std::string_view actor, std::string_view purpose,
                                              reveal_mode mode = reveal_mode::original);
  /// purge_evidence() over this store's connection.
  [[nodiscard]] core::result<evidence_purge> purge_expired(std::string_view actor,
                                                           int false_positive_days);

 private:
  connection& conn_;
  evidence_key key_;
};

}  // namespace hashguard::hashdb
