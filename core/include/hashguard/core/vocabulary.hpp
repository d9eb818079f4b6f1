// The one table of the service's vocabulary (DESIGN.md section 5): signals, actions, verdicts,
// roles and dihedral variants, with their stable text names. Every module and every output
// (JSON, CSV, database columns, metrics labels) uses these names and nothing else.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace hashguard::core {

/// vpdq: a video list's signal. Its entries are videos (their frames' PDQ hashes, matched by
/// the vPDQ rule of matcher/vpdq_match.hpp); an entry's stored value is the SHA-256 of its
/// frame text (what makes a re-imported video a duplicate), so its hex length is 64.
enum class signal : std::uint8_t { pdq, phash, md5, sha1, sha256, vpdq };
inline constexpr std::array<std::string_view, 6> signal_names{"pdq",  "phash",  "md5",
                                                              "sha1", "sha256", "vpdq"};
/// Hex digits a value of this signal has in text (pdq 64, phash 16, md5 32, sha1 40, sha256 64,
/// vpdq 64).
[[nodiscard]] constexpr std::size_t signal_hex_length(signal s) noexcept {
  constexpr std::array<std::size_t, 6> lengths{64, 16, 32, 40, 64, 64};
  return lengths[static_cast<std::size_t>(s)];
}
/// Whether an entry of this signal is one hex value (every signal but vpdq, whose entries are
/// videos: the exchanges keep vpdq entries as signals hashguard does not match yet).
[[nodiscard]] constexpr bool has_hex_entries(signal s) noexcept {
  return s != signal::vpdq;
}
/// Perceptual signals are matched by Hamming distance; the others (digests) exactly.
[[nodiscard]] constexpr bool is_perceptual(signal s) noexcept {
  return s == signal::pdq || s == signal::phash;
}

/// The match threshold a list of this signal gets when its creator names none: 31 bits for PDQ
/// (the reference's recommended radius), 10 for pHash, 0 (exact) for the digests; for vpdq the
/// frame distance (31, inclusive, as python-threatexchange).
[[nodiscard]] constexpr int default_threshold(signal s) noexcept {
  return s == signal::pdq || s == signal::vpdq ? 31 : s == signal::phash ? 10 : 0;
}
/// The largest threshold a list of this signal accepts (its hash's bit count; 0 for digests).
[[nodiscard]] constexpr int max_threshold(signal s) noexcept {
  return s == signal::pdq || s == signal::vpdq ? 256 : s == signal::phash ? 64 : 0;
}

/// Strictest first: block > report > review > none (the enum order is the severity order).
enum class action : std::uint8_t { block, report, review, none };
inline constexpr std::array<std::string_view, 4> action_names{"block", "report", "review", "none"};
[[nodiscard]] constexpr action strictest(action a, action b) noexcept {
  return a < b ? a : b;
}

enum class verdict : std::uint8_t { match, no_match, low_quality, unsupported, error };
inline constexpr std::array<std::string_view, 5> verdict_names{"match", "no_match", "low_quality",
                                                               "unsupported", "error"};

/// No role inherits another. exchange: read-only, the change feed of the lists its key names
/// (another hashguard following them), nothing else.
enum class role : std::uint8_t { ingest, reviewer, compliance, admin, exchange };
inline constexpr std::array<std::string_view, 5> role_names{"ingest", "reviewer", "compliance",
                                                            "admin", "exchange"};

/// What a key may do beyond its role, each granted by an admin (stored with the key).
///   match_details: ingest answers carry every field of a hit (entry, distance, variant, frame,
///   detail...); without it a hit is only its list name, signal and action.
enum class capability : std::uint8_t { match_details };
inline constexpr std::array<std::string_view, 1> capability_names{"match_details"};

/// A set of capabilities (a bit per capability). Empty by default: nothing beyond the role.
class capability_set {
 public:
  constexpr capability_set() = default;
  [[nodiscard]] constexpr bool has(capability c) const noexcept { return (bits_ & bit(c)) != 0; }
  constexpr void add(capability c) noexcept { bits_ |= bit(c); }
  [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }
  friend constexpr bool operator==(capability_set, capability_set) = default;

 private:
  static constexpr std::uint32_t bit(capability c) noexcept {
    return std::uint32_t{1} << static_cast<unsigned>(c);
  }
  std::uint32_t bits_{0};
};

/// What a hash list (and an exchange, and a case opened from its hits) holds: csam (child
/// sexual abuse material: the CyberTipline queue, A1-B2 classifications, preservation by
/// default), ncii (non-consensual intimate images of adults, StopNCII) and tvec (terrorist and
/// violent extremist content, GIFCT). Only csam cases are reported to NCMEC.
enum class harm_type : std::uint8_t { csam, ncii, tvec };
inline constexpr std::array<std::string_view, 3> harm_type_names{"csam", "ncii", "tvec"};

/// The 8 dihedral transforms of an image, named as the PDQ reference names them:
/// rot90 = 90 degrees counter-clockwise, rot270 = 90 clockwise, flipx = top and bottom swap,
/// flipy = left-right mirror, flipplus1 = transpose about the main diagonal, flipminus1 =
/// transpose about the anti-diagonal.
enum class dihedral : std::uint8_t {
  original,
  rot90,
  rot180,
  rot270,
  flipx,
  flipy,
  flipplus1,
  flipminus1
};
inline constexpr std::array<std::string_view, 8> dihedral_names{
    "original", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"};

/// PDQ hashes with quality below this carry no usable signal (DESIGN.md section 4).
inline constexpr int pdq_min_quality = 50;

template <class Enum, std::size_t N>
[[nodiscard]] constexpr std::string_view name_of(Enum e,
                                                 const std::array<std::string_view, N>& names) {
  return names[static_cast<std::size_t>(e)];
}
[[nodiscard]] constexpr std::string_view to_string(signal s) {
  return name_of(s, signal_names);
}
[[nodiscard]] constexpr std::string_view to_string(action a) {
  return name_of(a, action_names);
}
[[nodiscard]] constexpr std::string_view to_string(verdict v) {
  return name_of(v, verdict_names);
}
[[nodiscard]] constexpr std::string_view to_string(role r) {
  return name_of(r, role_names);
}
[[nodiscard]] constexpr std::string_view to_string(capability c) {
  return name_of(c, capability_names);
}
[[nodiscard]] constexpr std::string_view to_string(harm_type h) {
  return name_of(h, harm_type_names);
}
[[nodiscard]] constexpr std::string_view to_string(dihedral d) {
  return name_of(d, dihedral_names);
}

/// Exact, case-sensitive lookup of a name; nullopt when unknown.
template <class Enum, std::size_t N>
[[nodiscard]] constexpr std::optional<Enum> parse_name(
    std::string_view text, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}
[[nodiscard]] constexpr std::optional<signal> parse_signal(std::string_view t) {
  return parse_name<signal>(t, signal_names);
}
[[nodiscard]] constexpr std::optional<action> parse_action(std::string_view t) {
  return parse_name<action>(t, action_names);
}
[[nodiscard]] constexpr std::optional<role> parse_role(std::string_view t) {
  return parse_name<role>(t, role_names);
}
[[nodiscard]] constexpr std::optional<capability> parse_capability(std::string_view t) {
  return parse_name<capability>(t, capability_names);
}
[[nodiscard]] constexpr std::optional<harm_type> parse_harm_type(std::string_view t) {
  return parse_name<harm_type>(t, harm_type_names);
}
/// The names of the capabilities in `caps`, in capability order (for JSON, audit rows, SQL).
[[nodiscard]] inline std::vector<std::string_view> names_of(capability_set caps) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < capability_names.size(); ++i) {
    if (caps.has(static_cast<capability>(i))) out.push_back(capability_names[i]);
  }
  return out;
}

}  // namespace hashguard::core
