// An exchange source: one external hash source (NCMEC hash sharing, StopNCII, ThreatExchange,
// another hashguard, a watched folder) seen as pages of changes, each page carrying the
// checkpoint that resumes right after it.
//
// The contract between a protocol client (ncmec.hpp, stopncii.hpp, threatexchange.hpp,
// peer.hpp, folder.hpp) and the sync driver (sync.hpp):
//   - the driver calls fetch(checkpoint) with the checkpoint it stored last ("" on a first
//     sync), applies the page's entries and stores page.checkpoint in ONE PostgreSQL
//     transaction, and calls again while page.more is true (then waits for the next interval);
//     a crash therefore resumes at the last stored checkpoint with nothing lost or doubled, so a
//     client must be able to resume from any checkpoint it returned;
//   - a page is all or nothing: a response that fails to parse, or an entry that fails
//     validation, makes fetch() return errc::bad_page (the checkpoint does not move, the sync
//     stops and says why); a client never returns part of a page;
//   - retries of transient failures (timeouts, 429, 5xx with Retry-After) happen inside fetch()
//     through outbound::send_with_retry; what is left after them is an error value;
//   - credentials come from the exchange's configuration (read from `*_file` settings or the
//     environment by the caller) and never appear in an error message.
//
// Thread-safety: one sync runs a source at a time (the driver holds the exchange's lease);
// cancel() may be called from any thread.
#pragma once

#include "hashguard/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::exchanges {

enum class errc {
  unavailable = 1,  ///< the source could not be reached or kept failing after the retries
  rate_limited,     ///< still answering 429 after the retries
  unauthorized,     ///< credentials refused (401/403), or an expired token that did not renew
  bad_page,         ///< an answer that does not parse or holds an invalid entry (nothing applied)
  bad_config,       ///< the exchange's settings are missing or invalid
  unsupported,      ///< the source does not offer this operation (feedback)
  cancelled,        ///< cancel() was called
};

const core::named_category& exchanges_category() noexcept;
HG_DECLARE_ERRC(errc, exchanges_category)

/// One entry as the source states it, normalised by the client.
struct source_entry {
  /// The source's stable id for this entry, unique per exchange and signal (NCMEC's fingerprint
  /// id, StopNCII's hash id, ThreatExchange's indicator id, the peer's entry id, file:line).
  std::string source_id;
  /// A hashguard signal name ("pdq", "phash", "md5", "sha1", "sha256") when hashguard can match
  /// it, otherwise the source's own name in lower case ("tmk", "video_md5", "photodna", ...):
  /// such entries are stored with their provenance and never matched.
  std::string signal;
  /// Lowercase hex of the signal's length for hashguard signals (the client validates it);
  /// the source's text (at most 4096 bytes) for others; may be empty when `deleted`.
  std::string value;
  /// Withdrawn or deleted at the source: the entry is deleted here (not retired), from the
  /// hashes table, every node's snapshot and the snapshot cache file.
  bool deleted{false};
  std::vector<std::string> tags;  ///< the source's labels; at most 32, each at most 128 bytes
  std::string opinion;     ///< "positive", "negative", "disputed" where the source has one, else ""
  std::string updated_at;  ///< ISO 8601 UTC as the source states it; "" when it gives none
};

struct page {
  std::vector<source_entry> entries;  ///< in the order the source gave them; may be empty
  std::string checkpoint;             ///< opaque to the driver; at most 4096 bytes
  bool more{false};  ///< true: fetch again now from `checkpoint`; false: caught up for now
  /// This page begins a full re-fetch (for example a ThreatExchange checkpoint older than its
  /// 85-day delete horizon): every entry of this exchange that is not delivered again before
  /// the re-fetch ends (the first page with more == false) is deleted at its end.
  bool restart{false};
};

/// A reviewer's outcome on content matched by an entry of this source, sent back where the
/// source takes feedback. Never the content itself.
struct feedback {
  std::string source_id;  ///< the matched entry's source_entry::source_id
  std::string signal;
  std::string value;
  bool positive{};  ///< true: confirmed (the entry is right); false: dismissed (false positive)
  std::string tag;  ///< a classification or reason where the source takes one; "" otherwise
};

class source {
 public:
  virtual ~source() = default;
  /// The protocol: "ncmec", "stopncii", "threatexchange", "hashguard" or "folder".
  [[nodiscard]] virtual std::string_view kind() const noexcept = 0;
  /// The page after `checkpoint` ("" = from the start). See the contract above.
  [[nodiscard]] virtual core::result<page> fetch(std::string_view checkpoint) = 0;
  /// Whether send_feedback() is supported (NCMEC votes, StopNCII feedback).
  [[nodiscard]] virtual bool takes_feedback() const noexcept { return false; }
  /// Sends one outcome; errc::unsupported unless takes_feedback().
  [[nodiscard]] virtual core::result<void> send_feedback(const feedback& f) {
    (void)f;
    // Explicit: errc is registered as an error code enum only at the end of this header.
    return make_error_code(errc::unsupported);
  }
  /// Makes a fetch() or send_feedback() in progress fail promptly with errc::cancelled.
  virtual void cancel() noexcept {}
  /// What went wrong in the last failed fetch() or send_feedback(), beyond its error code (for
  /// the exchange's recorded last error): never a credential. "" when there is nothing to add.
  [[nodiscard]] virtual std::string last_error_detail() const { return {}; }
};

}  // namespace hashguard::exchanges

HG_REGISTER_ERRC(hashguard::exchanges::errc)
